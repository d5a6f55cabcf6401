import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiClient } from './api/api-client.ts';
import { ConnectionIndicator } from './components/connection-indicator.tsx';
import { FleetContext, openFleet } from './fleet.ts';
import { useConnection, useHashRoute } from './hooks.ts';
import { session } from './session.ts';
import { HostView } from './views/host-view.tsx';
import { LocationsView } from './views/locations-view.tsx';
import { LoginView } from './views/login-view.tsx';
import { OverviewView } from './views/overview-view.tsx';
import { SchedulesView } from './views/schedules-view.tsx';
import { UpdatesView } from './views/updates-view.tsx';
import { AlertsView, FiringCount } from './views/alerts-view.tsx';

const NAV = [
  ['/', 'Overview'],
  ['/locations', 'Regions & sites'],
  ['/schedules', 'Schedules'],
  ['/updates', 'OS & updates'],
  ['/alerts', 'Alerts'],
] as const;

/** The console: sign-in, then the project's views around one live stream. */
export function App() {
  const [token, setToken] = useState(session.token());
  const [project, setProject] = useState(session.project() ?? 'default');
  const [projects, setProjects] = useState<string[]>([project]);
  const [notice, setNotice] = useState<string>();
  const api = useMemo(() => (token ? new ApiClient(token) : undefined), [token]);

  useEffect(() => {
    if (!api) return;
    api.projects().then(
      (p) => setProjects(p),
      (e) => {
        if (e.status === 401) signOut(e.message);
      },
    );
  }, [api]);

  const signOut = (why?: string) => {
    session.signOut();
    setToken(null);
    setNotice(why);
  };

  if (!api || !token) {
    return (
      <LoginView
        notice={notice}
        onLogin={(t, ps) => {
          const p = ps.includes(project) ? project : ps[0];
          session.signIn(t, p);
          setProjects(ps);
          setProject(p);
          setToken(t);
        }}
      />
    );
  }
  return (
    <Console
      api={api}
      project={project}
      projects={projects}
      onProject={(p) => {
        session.setProject(p);
        setProject(p);
        location.hash = '#/';
      }}
      onSignOut={() => signOut()}
    />
  );
}

function Console({ api, project, projects, onProject, onSignOut }: { api: ApiClient; project: string; projects: string[]; onProject: (p: string) => void; onSignOut: () => void }) {
  const fleet = useMemo(() => openFleet(api, project), [api, project]);
  useEffect(() => () => void fleet.sync.stop(), [fleet]);
  const route = useHashRoute();
  const conn = useConnection(fleet.sync);
  // A new view moves focus to its start, as a page load would: the link that led here is gone, and
  // a keyboard user's next Tab should land in the new view, not back at the top of the page.
  const main = useRef<HTMLElement>(null);
  const shown = useRef(route);
  useEffect(() => {
    if (shown.current === route) return;
    shown.current = route;
    main.current?.focus({ preventScroll: true });
  }, [route]);
  const host = /^\/hosts\/([a-z]+-[0-9a-f]{8})$/.exec(route);
  const view = host ? (
    <HostView id={host[1]} />
  ) : route === '/locations' ? (
    <LocationsView />
  ) : route === '/schedules' ? (
    <SchedulesView />
  ) : route === '/updates' ? (
    <UpdatesView />
  ) : route === '/alerts' ? (
    <AlertsView />
  ) : (
    <OverviewView />
  );
  return (
    <FleetContext.Provider value={fleet}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">eim</span>
        <nav aria-label="Views">
          {NAV.map(([path, label]) => (
            <a key={path} href={`#${path}`} aria-current={route.split('?')[0] === path || (path === '/' && host) ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <FiringCount />
        <span class="inline">
          <label for="project">Project</label>
          <select id="project" value={project} onChange={(e) => onProject((e.target as HTMLSelectElement).value)}>
            {(projects.includes(project) ? projects : [project, ...projects]).map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </span>
        <ConnectionIndicator sync={fleet.sync} />
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {conn.state === 'stopped' && (
        <p class="error banner" role="alert">
          The watch stream was refused: {conn.error}. <button onClick={onSignOut}>Sign in again</button>
        </p>
      )}
      <main id="main" tabIndex={-1} ref={main}>
        {view}
      </main>
    </FleetContext.Provider>
  );
}

import { useState } from 'preact/hooks';
import { ApiClient } from '../api/api-client.ts';
import { ApiError } from '../api/api-error.ts';

/** Sign in with a token: checked against the API (it lists the projects the token may see). */
export function LoginView({ onLogin, notice }: { onLogin: (token: string, projects: string[]) => void; notice?: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return setError('Paste a token: eim writes the admin token to .eim/admin.token on first start; "eim token create" makes more.');
    setBusy(true);
    setError(undefined);
    try {
      const projects = await new ApiClient(t).projects();
      if (projects.length === 0) throw new ApiError(403, 'permission_denied', 'this token may see no project');
      onLogin(t, projects);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">eim console</h1>
        <p class="muted">Sign in with an API token. It is kept in this tab only (sessionStorage) and sent only to this server.</p>
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autoFocus />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

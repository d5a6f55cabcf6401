import { useRef, useState } from 'preact/hooks';
import type { Resource } from '../api/resource.ts';
import { useFleet } from '../fleet.ts';
import { hostActionRules } from '../state/host-action-rules.ts';

const POWER = ['on', 'off', 'reset', 'power-cycle'] as const;

/**
 * Onboard, invalidate, power and delete. Each is one PATCH (or DELETE) of the host; the page then
 * changes by itself as the manager's status writes arrive on the stream. A refusal shows the
 * server's own message.
 */
export function HostActions({ host }: { host: Resource }) {
  const { api, project } = useFleet();
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);
  const [power, setPower] = useState<string>(host.spec.desiredPowerState ?? 'on');
  const dialog = useRef<HTMLDialogElement>(null);

  const run = async (what: string, call: () => Promise<unknown>) => {
    setBusy(true);
    setResult(undefined);
    try {
      await call();
      setResult({ ok: true, text: `${what}: accepted; the status below follows as the host manager works.` });
    } catch (e) {
      setResult({ ok: false, text: `${what} refused: ${(e as Error).message}` });
    } finally {
      setBusy(false);
    }
  };
  const desire = (state: string) => run(state === 'onboarded' ? 'Onboard' : 'Invalidate', () => api.patch(project, 'hosts', host.id, { spec: { desiredState: state } }));
  const deleting = host.spec.desiredState === 'deleted';
  const rules = hostActionRules(host);
  // Why a state button is off, when the reason is more than "already asked": shown, not only a tooltip.
  const notes = [rules.onboard, rules.invalidate].filter((r) => !r.enabled && r.why && !/already asked|being deleted/.test(r.why));

  return (
    <section aria-label="Actions" class="actions">
      <button type="button" disabled={busy || !rules.onboard.enabled} title={rules.onboard.why} aria-describedby={rules.onboard.why ? 'onboard-why' : undefined} onClick={() => desire('onboarded')}>
        Onboard
      </button>
      <button type="button" disabled={busy || !rules.invalidate.enabled} title={rules.invalidate.why} onClick={() => desire('untrusted')}>
        Invalidate
      </button>
      <span class="group">
        <label for="power">Power</label>
        <select id="power" value={power} onChange={(e) => setPower((e.target as HTMLSelectElement).value)}>
          {POWER.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
        <button type="button" disabled={busy} onClick={() => run(`Power ${power}`, () => api.patch(project, 'hosts', host.id, { spec: { desiredPowerState: power } }))}>
          Set power
        </button>
      </span>
      <button type="button" class="danger" disabled={busy || deleting} onClick={() => dialog.current?.showModal()}>
        {deleting ? 'Deleting…' : 'Delete'}
      </button>
      <dialog ref={dialog} aria-labelledby="del-title" onClose={() => undefined}>
        <form
          method="dialog"
          onSubmit={(e) => {
            const confirm = (e as SubmitEvent).submitter?.getAttribute('value') === 'delete';
            if (confirm) void run('Delete', () => api.delete(project, 'hosts', host.id));
          }}
        >
          <h2 id="del-title">Delete {host.name}?</h2>
          <p>The host manager revokes its agent's credentials and removes its devices and instance, then the host itself.</p>
          <div class="actions">
            <button value="cancel" class="secondary" autoFocus>
              Cancel
            </button>
            <button value="delete" class="danger">
              Delete host
            </button>
          </div>
        </form>
      </dialog>
      {notes.map((r) => (
        <p key={r.why} class="muted small action-note" id={r === rules.onboard ? 'onboard-why' : undefined} data-testid="action-note">
          {r.why}
        </p>
      ))}
      {result && (
        <p class={result.ok ? 'ok' : 'error'} role={result.ok ? 'status' : 'alert'} data-testid="action-result">
          {result.text}
        </p>
      )}
    </section>
  );
}

import Type, { type Static } from 'typebox';
import { closed, Opt, Timestamp } from './common.ts';
import { SERIAL_MAX_LENGTH, SERIAL_PATTERN, UUID_PATTERN } from './host-identity.ts';
import { AgentTelemetryReport } from './telemetry-data.ts';
import { Hardware, HostGpuStatus, HostNicStatus, HostStorageStatus, HostUsbStatus } from './kinds.ts';

// The southbound protocol (ARCHITECTURE.md §7): agents dial out; the server never dials an agent.
// Everything under /southbound/v1, JSON over HTTP. Shared by the server handlers, the agent and
// the fleet simulator.

/** The longest certificate signing request (PEM text) the server reads: an Ed25519 or P-256 one is about 500 characters. */
export const AGENT_CSR_MAX_LENGTH = 4096;

/**
 * POST /southbound/v1/enroll, with an enrollment token. A host matches by exact equality: the uuid
 * in any case, the serial number as it is. Vendor placeholders (src/api/host-identity.ts) match
 * nothing.
 */
export const EnrollRequest = Type.Object(
  {
    uuid: Opt(Type.String({ pattern: UUID_PATTERN })),
    serialNumber: Opt(Type.String({ minLength: 1, maxLength: SERIAL_MAX_LENGTH, pattern: SERIAL_PATTERN })),
    hostname: Type.String({ minLength: 1, maxLength: 253 }),
    macs: Opt(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 64 })),
    /** A PKCS #10 request (PEM) for the agent's client certificate, for a server with mutual TLS for agents (AGENT_CSR_MAX_LENGTH). */
    csr: Opt(Type.String({ minLength: 1, maxLength: AGENT_CSR_MAX_LENGTH })),
  },
  closed,
);
export type EnrollRequest = Static<typeof EnrollRequest>;

export const EnrollResponse = Type.Object({
  hostId: Type.String(),
  project: Type.String(),
  /** The host-bound agent token. */
  token: Type.String(),
  /** When the token expires; the agent renews it before (POST /southbound/v1/renew). */
  expiresAt: Opt(Timestamp),
  /** With mutual TLS for agents: the client certificate (PEM) signed for the request's csr, bound to this host. */
  certificate: Opt(Type.String()),
  /** When that certificate expires; the agent renews it before (POST /southbound/v1/certificate). */
  certificateExpiresAt: Opt(Timestamp),
});
export type EnrollResponse = Static<typeof EnrollResponse>;

/**
 * POST /southbound/v1/renew (agent token, no body): a new agent token for the same host, with a
 * full lifetime. The old one stays valid until it expires, so a lost answer costs nothing.
 */
export const RenewResponse = Type.Object({ token: Type.String(), expiresAt: Opt(Timestamp) });
export type RenewResponse = Static<typeof RenewResponse>;

/**
 * POST /southbound/v1/certificate (agent token and the agent's current client certificate, on a
 * server with mutual TLS for agents): a new client certificate for the request's key, bound to the
 * same host, with a full lifetime. The current one stays valid until it expires.
 */
export const AgentCertificateRequest = Type.Object({ csr: Type.String({ minLength: 1, maxLength: AGENT_CSR_MAX_LENGTH }) }, closed);
export type AgentCertificateRequest = Static<typeof AgentCertificateRequest>;
export const AgentCertificateResponse = Type.Object({ certificate: Type.String(), expiresAt: Timestamp });
export type AgentCertificateResponse = Static<typeof AgentCertificateResponse>;

/** POST /southbound/v1/heartbeat (agent token). Answers 204; the lease lives in memory. */
export const HeartbeatRequest = Type.Object(
  {
    seq: Opt(Type.Integer({ minimum: 0 })),
    bootId: Opt(Type.String({ maxLength: 64 })),
    /** The agent's heartbeat interval; the lease is 3 of them. @default 10 */
    intervalSeconds: Opt(Type.Number({ minimum: 0.05, maximum: 3600 })),
  },
  closed,
);
export type HeartbeatRequest = Static<typeof HeartbeatRequest>;

/** Devices without the hostId (the server knows the host from the token). */
const device = <T extends ReturnType<typeof Type.Object>>(schema: T) => Type.Omit(schema, ['hostId']);

/** The most devices of each kind one hardware report may hold (the agent sends the first ones and says so). */
export const HARDWARE_REPORT_LIMITS = { nics: 64, storages: 128, gpus: 16, usbs: 64 } as const;

/** The largest hardware report body the server reads. */
export const HARDWARE_REPORT_MAX_BYTES = 512 * 1024;

/**
 * POST /southbound/v1/hardware (agent token): the full inventory of the machine; the server diffs it
 * and writes only what changed. Bounded: HARDWARE_REPORT_LIMITS devices per kind, strings of at most
 * 256 characters (device names 128), HARDWARE_REPORT_MAX_BYTES in all (413 beyond).
 */
export const HardwareReport = Type.Object(
  {
    hardware: Hardware,
    nics: Type.Array(device(HostNicStatus), { maxItems: HARDWARE_REPORT_LIMITS.nics }),
    storages: Type.Array(device(HostStorageStatus), { maxItems: HARDWARE_REPORT_LIMITS.storages }),
    gpus: Type.Array(device(HostGpuStatus), { maxItems: HARDWARE_REPORT_LIMITS.gpus }),
    usbs: Type.Array(device(HostUsbStatus), { maxItems: HARDWARE_REPORT_LIMITS.usbs }),
  },
  closed,
);
export type HardwareReport = Static<typeof HardwareReport>;

/** POST /southbound/v1/status (agent token): what the agent sees of its own state. */
export const AgentStatusReport = Type.Object(
  {
    powerState: Opt(Type.Enum(['on', 'off', 'unspecified'])),
    osId: Opt(Type.String()),
    message: Opt(Type.String({ maxLength: 1024 })),
    configVersion: Opt(Type.String({ maxLength: 128, description: 'version of the applied config' })),
    /** How its telemetry collection goes: unknown groups, problems, dropped batches. */
    telemetry: Opt(AgentTelemetryReport),
  },
  closed,
);
export type AgentStatusReport = Static<typeof AgentStatusReport>;

export const COMMAND_TYPES = ['install-os', 'wipe', 'power', 'update-os', 'apply-config'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/** A command on the agent's stream (event `command`), id-unique; the agent answers with its result. */
export const AgentCommand = Type.Object(
  {
    id: Type.String(),
    type: Type.Enum([...COMMAND_TYPES]),
    /** install-os: { osId, imageUrl, sha256, profileName, profileVersion, kernelCommand? }; power: { state }; apply-config: { version, config } */
    params: Type.Record(Type.String(), Type.Unknown()),
    issuedAt: Timestamp,
  },
  closed,
);
export type AgentCommand = Static<typeof AgentCommand>;

/** POST /southbound/v1/commands/{id}/result (agent token). */
export const CommandResult = Type.Object(
  {
    state: Type.Enum(['running', 'succeeded', 'failed']),
    /** For failed: whether trying again may help (a download timeout) or not (a checksum mismatch). */
    recoverable: Opt(Type.Boolean()),
    message: Opt(Type.String({ maxLength: 4096 })),
    progress: Opt(Type.Integer({ minimum: 0, maximum: 100 })),
    /** Executor output, e.g. what a dry run would have done. */
    details: Opt(Type.Record(Type.String(), Type.Unknown())),
  },
  closed,
);
export type CommandResult = Static<typeof CommandResult>;

/**
 * GET /southbound/v1/stream (agent token): SSE. Events: `command` (data: AgentCommand),
 * `config` (data: { version, config }), `node-config` (data: NodeConfigPayload: { version, accounts,
 * configs }), `revoked` (the host was invalidated or deleted; stop),
 * and `BOOKMARK`. On (re)connect the server first sends every command not yet finished, so a
 * command is never lost across reconnects; the agent ignores ids it has already run.
 */
export const STREAM_EVENTS = ['command', 'config', 'node-config', 'revoked', 'BOOKMARK'] as const;

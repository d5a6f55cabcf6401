// The plan lives in api/ (the CLI's `update abort` reads it too); managers import it from here.
export * from '../../api/os-update-plan.ts';

import Type from 'typebox';

// Apart from host-selector.ts, which reads the registry: kinds.ts needs the schema before the registry exists.

/** The schema of a `target.selector` field. */
export const HostSelectorText = Type.String({
  minLength: 1,
  maxLength: 4096,
  description: 'AIP-160 filter over hosts (fields of Host, labels.<key>, inheritedLabels.<key>), e.g. inheritedLabels.env = "canary" AND inheritedLabels.geo = "eu"',
});

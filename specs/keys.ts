// PLACEHOLDER owned by the specs helper: the single source of truth for every spec key.
export type KeyKind = string;
export interface KeyDef {
  key: string;
  kind: KeyKind;
  default: unknown;
  doc: string;
  values?: readonly string[];
}

// A command notifier's argv names fields of the task's end as `{field}`; each word is filled in
// on its own and run without a shell, so a value can never become a second argument or code.

/** The fields a command notifier's argv may name as `{field}`, also set as `OCA_<FIELD>` variables. */
export const TEMPLATE_FIELDS = [
  'id',
  'short_id',
  'name',
  'status',
  'exit_code',
  'signal',
  'duration',
  'executor',
  'task_type',
  'cost',
] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

const PLACEHOLDER = /\{([a-z_]+)\}/g;

/** Fills `{field}` placeholders in one argv word; other braces stay as they are. */
export function expandTemplate(word: string, values: Readonly<Record<TemplateField, string>>): string {
  return word.replace(PLACEHOLDER, (whole, field: string) =>
    Object.hasOwn(values, field) ? values[field as TemplateField] : whole,
  );
}

/** The `{word}` placeholders of an argv word that are no template field (for the config check). */
export function unknownPlaceholders(word: string): string[] {
  return [...word.matchAll(PLACEHOLDER)]
    .map((m) => m[1]!)
    .filter((field) => !(TEMPLATE_FIELDS as readonly string[]).includes(field));
}

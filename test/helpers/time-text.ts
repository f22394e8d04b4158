/**
 * How a start time reads on every surface, seen at any of the moments `nows`: its time alone when
 * it falls on that UTC day (`14:05 UTC`), with its date on another (`2026-12-07 00:05 UTC`). A
 * test reads the text at one moment between two it knows, so both are offered: a delay of an hour
 * taken after 23:00 UTC starts tomorrow.
 */
export function startTimeTexts(startIso: string, nows: number[]): string[] {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const time = startIso.slice(11, 16);
  return [
    ...new Set(nows.map((now) => (day(now) === startIso.slice(0, 10) ? time : `${startIso.slice(0, 10)} ${time}`))),
  ].map((text) => `${text} UTC`);
}

/** Reading the server's own /metrics (Prometheus text format) from the bench scripts. */

/** The server's metrics as text. */
export async function fetchExposition(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`)).text();
}

/** The sum of a sample's values over all its label sets (a gauge without labels: its value; none yet: 0). */
export function sumOf(exposition: string, sample: string): number {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${sample}{`) || line.startsWith(`${sample} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

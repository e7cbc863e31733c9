// The HTML page for a visit, as the seed's course app showed it: the time in a configured zone, the instance's name
// and the visit's number. Formatters are cached per zone: building an Intl.DateTimeFormat costs far more than using one.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      dateStyle: 'full',
      timeStyle: 'long',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

export function renderVisitPage(page: { visit: number; now: Date; timeZone: string; pod: string; version: string; badRelease?: string }): string {
  const time = formatterFor(page.timeZone).format(page.now);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>rollcall</title>
<style>body{font-family:system-ui,sans-serif;margin:3rem auto;max-width:40rem;line-height:1.5}code{font-size:1.1em}</style></head>
<body>
<h1>rollcall</h1>
<p>Current time in ${escapeHtml(page.timeZone)}: <time datetime="${page.now.toISOString()}">${escapeHtml(time)}</time></p>
<p>Served by <code>${escapeHtml(page.pod)}</code> (version ${escapeHtml(page.version)})</p>
<p>You are visit number <strong id="visit">${page.visit}</strong>.</p>
${page.badRelease ? `<p role="alert"><strong>A bad release on purpose:</strong> <code>BAD_RELEASE=${escapeHtml(page.badRelease)}</code></p>\n` : ''}</body>
</html>
`;
}

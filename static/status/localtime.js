// The public status page (supervision/templates/supervision/status.html): each
// <time data-local datetime="ISO"> is shown in the reader's own time zone and language.
// The server's text (UTC) stays when this cannot run; the ISO value stays in datetime.

export function localTime(iso, locale, timeZone) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return null;
  return new Intl.DateTimeFormat(locale, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
    ...(timeZone ? { timeZone } : {}),
  }).format(at);
}

if (typeof document !== "undefined") {
  for (const el of document.querySelectorAll("time[data-local]")) {
    const text = localTime(el.getAttribute("datetime"));
    if (text) {
      el.title = el.textContent;
      el.textContent = text;
    }
  }
}

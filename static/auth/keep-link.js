// The sign-in page keeps the link the agent followed: a fragment never reaches the server
// (/console/#/conversations/12 redirects here with next=/console/ only), but the browser
// carries it over the redirect, so it is put back on `next` before the form is sent.
const next = document.querySelector("input[name=next]");
if (next && location.hash && !next.value.includes("#")) next.value += location.hash;

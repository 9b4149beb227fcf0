// The console page's elements (templates/console.html) and the small helpers every view uses.

const $ = (sel) => document.querySelector(sel);
export const el = {
  connection: $("[data-testid=console-connection]"),
  waiting: $("[data-testid=waiting-list]"),
  mine: $("[data-testid=mine-list]"),
  waitingCount: $("[data-testid=waiting-count]"),
  mineCount: $("[data-testid=mine-count]"),
  waitingEmpty: $("[data-testid=waiting-empty]"),
  mineEmpty: $("[data-testid=mine-empty]"),
  chatEmpty: $("[data-testid=chat-empty]"),
  routeNotice: $("[data-testid=route-notice]"),
  chat: $("[data-testid=chat]"),
  chatHead: $(".chat-head"),
  title: $("[data-testid=chat-title]"),
  meta: $("[data-testid=chat-meta]"),
  status: $("[data-testid=chat-status]"),
  takeBtn: $("[data-testid=chat-take]"),
  resolveBtn: $("[data-testid=chat-resolve]"),
  scroll: $(".transcript"),
  transcript: $("[data-testid=transcript]"),
  pending: $("[data-testid=transcript-pending]"),
  typing: $("[data-testid=chat-typing]"),
  form: $("[data-testid=composer]"),
  input: $("[data-testid=composer-input]"),
  send: $("[data-testid=composer-send]"),
  modeTabs: Array.from(document.querySelectorAll("[data-testid^=composer-mode-]")),
  note: $("[data-testid=composer-note]"),
  toast: $("[data-testid=toast]"),
  undoToast: $("[data-testid=undo-toast]"),
  undoText: $("[data-testid=undo-text]"),
  undoButton: $("[data-testid=undo-button]"),
  presence: $("[data-testid=presence]"),
  presenceSelect: $("[data-testid=presence-select]"),
  presenceMessage: $("[data-testid=presence-message]"),
  offersSection: $("[data-testid=offers]"),
  offers: $("[data-testid=offers-list]"),
  offersCount: $("[data-testid=offers-count]"),
  context: $("[data-testid=context]"),
  contextToggle: $("[data-testid=context-toggle]"),
  contextEmpty: $("[data-testid=context-empty]"),
  contextBody: $("[data-testid=context-body]"),
  contextCustomer: $("[data-testid=context-customer]"),
  contextCollected: $("[data-testid=context-collected]"),
  contextCollectedSection: $("[data-testid=context-collected-section]"),
  contextCollectedTitle: $("[data-testid=context-collected-title]"),
  contextForm: $("[data-testid=context-form]"),
  contextFormSection: $("[data-testid=context-form-section]"),
  contextPast: $("[data-testid=context-past]"),
  contextPastSection: $("[data-testid=context-past-section]"),
  contextTimeline: $("[data-testid=context-timeline]"),
  pastDialog: $("[data-testid=past-dialog]"),
  transferBtn: $("[data-testid=chat-transfer]"),
  inviteBtn: $("[data-testid=chat-invite]"),
  leaveBtn: $("[data-testid=chat-leave]"),
  transferTitle: $("#transfer-title"),
  transferQueueSection: $("[data-testid=transfer-queue-section]"),
  stillThere: $("[data-testid=chat-still-there]"),
  picker: $("[data-testid=canned-picker]"),
  searchInput: $("[data-testid=search-input]"),
  suggestions: $("[data-testid=suggestions]"),
  searchSection: $("[data-testid=search-section]"),
  searchResults: $("[data-testid=search-results]"),
  searchEmpty: $("[data-testid=search-empty]"),
  listSections: Array.from(document.querySelectorAll(".sidebar > .list-section:not([data-testid=search-section])")),
  helpDialog: $("[data-testid=help-dialog]"),
  helpList: $("[data-testid=help-list]"),
  helpOpen: $("[data-testid=help-open]"),
  load: $("[data-testid=agent-load]"),
  resync: $("[data-testid=resync-banner]"),
  cannedManage: $("[data-testid=canned-manage]"),
  cannedDialog: $("[data-testid=canned-dialog]"),
  cannedList: $("[data-testid=canned-list]"),
  cannedShortcut: $("[data-testid=canned-shortcut]"),
  cannedTitle: $("[data-testid=canned-title]"),
  cannedBody: $("[data-testid=canned-body]"),
  cannedSiteOnly: $("[data-testid=canned-site-only]"),
  cannedError: $("[data-testid=canned-error]"),
  cannedSave: $("[data-testid=canned-save]"),
  transferDialog: $("[data-testid=transfer-dialog]"),
  transferAgents: $("[data-testid=transfer-agents]"),
  transferQueues: $("[data-testid=transfer-queues]"),
  transferNote: $("[data-testid=transfer-note]"),
  transferError: $("[data-testid=transfer-error]"),
  transferSubmit: $("[data-testid=transfer-submit]"),
  pastTitle: $("[data-testid=past-title]"),
  pastList: $("[data-testid=past-list]"),
};

export function clock(iso) {
  return new Date(iso || Date.now()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** A message's text in the reader's language, when the pipeline translated it. */
export function translationOf(m) {
  const view = m.view || {};
  const t = view.as === "recipient" && view.language && m.translations && m.translations[view.language];
  return t && t.state === "done" && t.body && t.body !== m.body ? t.body : null;
}

let toastTimer = null;
export function toast(text) {
  el.toast.textContent = text;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.toast.hidden = true), 5000);
}

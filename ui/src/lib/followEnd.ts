// Logs read from the bottom: a scrolled log box stays at its newest line as
// lines arrive, unless the reader scrolled up to read something older.

/** Within this many pixels of the end counts as at the end (rounding). */
const SLACK_PX = 4;

/** An attachment (`{@attach followEnd}`) for a scrollable log box. */
export function followEnd(box: HTMLElement): () => void {
  let atEnd = true;
  const follow = () => {
    if (atEnd) box.scrollTop = box.scrollHeight;
  };
  const onScroll = () => {
    atEnd = box.scrollHeight - box.scrollTop - box.clientHeight <= SLACK_PX;
  };
  follow();
  // Whatever renders the lines, a change of them is a change of the DOM.
  const observer = new MutationObserver(follow);
  observer.observe(box, { childList: true, subtree: true, characterData: true });
  box.addEventListener('scroll', onScroll);
  return () => {
    observer.disconnect();
    box.removeEventListener('scroll', onScroll);
  };
}

/**
 * Keyboard navigation of a listbox, as in browser devtools: `j` or ↓ for the next option, `k` or ↑
 * for the one before, Home and End for the first and last. Selecting is opening, and focus moves
 * with the selection (a roving tab stop: only the selected option is in the tab order).
 */
export function listKeys(count: number, index: number, select: (index: number) => void) {
  return (event: KeyboardEvent) => {
    if (event.altKey || event.ctrlKey || event.metaKey || count === 0) return;
    const options = [
      ...(event.currentTarget as HTMLElement).querySelectorAll<HTMLElement>('[role="option"]'),
    ];
    // Where the user is: the focused option (focus moves at once; the selection only once the page
    // has rendered it, and a second key may come before that).
    const focused = options.indexOf(document.activeElement as HTMLElement);
    const current = focused === -1 ? index : focused;
    let next: number | undefined;
    if (event.key === 'j' || event.key === 'ArrowDown') next = Math.min(current + 1, count - 1);
    else if (event.key === 'k' || event.key === 'ArrowUp') next = Math.max(current - 1, 0);
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = count - 1;
    if (next === undefined) return;
    event.preventDefault();
    options[next]?.focus();
    select(next);
  };
}

/** The tab index of option `position` when option `selected` is selected (the first when none is). */
export function tabIndexOf(position: number, selected: number): 0 | -1 {
  return position === Math.max(selected, 0) ? 0 : -1;
}

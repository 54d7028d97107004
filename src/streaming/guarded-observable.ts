import { Observable, type Observer, type Operator, Subscriber, type Subscription } from 'rxjs';
import { messageOf } from '../message-of.js';

/** Told of an error a subscriber threw (default: a warning on the console). */
export type SubscriberErrorHandler = (error: unknown) => void;

const warn: SubscriberErrorHandler = (error) =>
  console.warn(`agentchart: a subscriber of a run's events threw; the run goes on: ${messageOf(error)}`);

/**
 * An Observable whose subscribers' own errors go to a handler instead of the process: RxJS rethrows
 * an error a subscriber throws on a timer, where nothing can catch it and the process ends. The
 * guard also holds for what is piped from it (`events$.pipe(filter(…)).subscribe(…)`): operators
 * build on `lift`, which keeps the guard.
 */
class GuardedObservable<T> extends Observable<T> {
  constructor(
    subscribe: ((this: Observable<T>, subscriber: Subscriber<T>) => unknown) | undefined,
    private readonly onError: SubscriberErrorHandler,
  ) {
    super(subscribe as never);
  }

  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    const lifted = new GuardedObservable<R>(undefined, this.onError);
    (lifted as unknown as { source: Observable<T> }).source = this;
    (lifted as unknown as { operator: Operator<T, R> | undefined }).operator = operator;
    return lifted;
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null): Subscription {
    const { onError } = this;
    const guard =
      <A extends unknown[]>(callback: ((...args: A) => void) | undefined) =>
      (...args: A) => {
        try {
          callback?.(...args);
        } catch (error) {
          onError(error);
        }
      };
    if (typeof observerOrNext === 'function') return super.subscribe(guard(observerOrNext));
    if (observerOrNext === null || observerOrNext === undefined) return super.subscribe();
    // An operator's own subscriber (inside a pipe) goes through as it is: the guard is at the end.
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext);
    const { next, error, complete } = observerOrNext;
    return super.subscribe({
      next: guard(next?.bind(observerOrNext)),
      ...(error === undefined ? {} : { error: guard(error.bind(observerOrNext)) }),
      complete: guard(complete?.bind(observerOrNext)),
    });
  }
}

/** `source` as an Observable whose subscribers cannot take the process down (see {@link GuardedObservable}). */
export function guarded<T>(source: Observable<T>, onError: SubscriberErrorHandler = warn): Observable<T> {
  return new GuardedObservable<T>((subscriber) => source.subscribe(subscriber), onError);
}

/**
 * An OTLP/HTTP receiver in a process of its own, for `npm run bench -- --otel`: decoding the
 * spans must not steal the load generator's event loop. Prints its base URL on the first line,
 * and on SIGTERM the number of spans it received, then exits.
 */
import { OtlpReceiver } from '../test/helpers/otlp-receiver.ts';

const receiver = new OtlpReceiver({ keepSpans: false });
console.log(await receiver.start());
process.once('SIGTERM', () => {
  console.log(receiver.spanCount);
  void receiver.stop().then(() => process.exit(0));
});

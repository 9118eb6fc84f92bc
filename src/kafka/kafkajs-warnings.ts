/**
 * kafkajs 2.2.4 (pinned; unmaintained upstream) handed setTimeout a negative delay in its
 * request queue (tulios/kafkajs#1751): since Node 24 that prints a TimeoutNegativeWarning
 * at the first Kafka answer, which vigil's users would take for a fault. The cause is fixed
 * in kafkajs-wire.ts (fixKafkajsRequestQueueSchedule, installed when that module loads);
 * this entry point, called once by the CLI, makes sure the fix is in place before any
 * kafkajs client is made. Every warning still prints: none is filtered.
 */
import { fixKafkajsRequestQueueSchedule } from './kafkajs-wire';

export function silenceKafkajsNegativeTimeoutWarning(): void {
  fixKafkajsRequestQueueSchedule();
}

/**
 * A topic's or broker's configs as Kafka reports them (DescribeConfigs through kafkajs), for
 * tests that check what vigil set or removed (throttles).
 */
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';

export type ConfigEntries = Map<string, { value: string; isDefault: boolean }>;

export async function describeConfigs(bootstrap: readonly string[], type: 'topic' | 'broker', name: string, configNames?: string[]): Promise<ConfigEntries> {
  const admin = new Kafka({ brokers: [...bootstrap], clientId: 'vigil-test-configs', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const res = await admin.describeConfigs({
      // a broker's throttle rates are listed only when asked for by name
      resources: [{ type: type === 'topic' ? ConfigResourceTypes.TOPIC : ConfigResourceTypes.BROKER, name, ...(configNames ? { configNames } : {}) }],
      includeSynonyms: false,
    });
    const entries = res.resources[0]?.configEntries ?? [];
    return new Map(entries.map((e) => [e.configName, { value: e.configValue, isDefault: e.isDefault }]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * A Kafka client properties file (`--command-config`, as kafka-consumer-groups.sh reads
 * it) as vigil's Kafka connection settings. What vigil can honour it honours; keys it does
 * not use are returned as warnings; settings that would change *how vigil authenticates or
 * verifies the brokers* and that it cannot honour (GSSAPI, OAUTHBEARER, callback handlers,
 * config providers, JKS/PKCS12 stores) are a CONFIG_INVALID error, because going on without
 * them would connect differently from what the file asks for.
 *
 * Pure apart from reading the PEM files the properties name, through `io.readFile`.
 * Relative paths are resolved by the caller's readFile against the working directory, as
 * the Java tools do.
 */
import type { KafkaSaslConfig, KafkaSslConfig } from '../config/types';
import { VigilError } from '../errors';

/** What a properties file says about the connection; an absent field says nothing. */
export interface KafkaClientSettings {
  brokers?: string[];
  clientId?: string;
  ssl?: KafkaSslConfig | false;
  /** null: the file's security.protocol uses no SASL (overrides SASL from --config). */
  sasl?: KafkaSaslConfig | null;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface ClientPropertiesIo {
  /** Names the file in messages, e.g. "--command-config client.properties". */
  source: string;
  readFile(path: string): Uint8Array;
}

export interface ClientPropertiesResult {
  settings: KafkaClientSettings;
  /** One line each, for stderr. */
  warnings: string[];
}

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
type Protocol = (typeof PROTOCOLS)[number];
const MECHANISMS: Record<string, KafkaSaslConfig['mechanism']> = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
};
const PLAIN_MODULE = 'org.apache.kafka.common.security.plain.PlainLoginModule';
const SCRAM_MODULE = 'org.apache.kafka.common.security.scram.ScramLoginModule';

/** Keys this module reads (anything else is reported as ignored, or refused below). */
const SSL_KEYS = [
  'ssl.truststore.location',
  'ssl.truststore.type',
  'ssl.truststore.certificates',
  'ssl.truststore.password',
  'ssl.keystore.location',
  'ssl.keystore.type',
  'ssl.keystore.certificate.chain',
  'ssl.keystore.key',
  'ssl.keystore.password',
  'ssl.key.password',
  'ssl.endpoint.identification.algorithm',
];
const SASL_KEYS = ['sasl.mechanism', 'sasl.jaas.config'];
const GENERAL_KEYS = ['bootstrap.servers', 'client.id', 'security.protocol', 'request.timeout.ms', 'socket.connection.setup.timeout.ms'];

/**
 * Keys whose presence changes authentication or broker verification in a way vigil
 * cannot reproduce: refused rather than ignored.
 */
const REFUSED_KEYS: Record<string, string> = {
  'config.providers': 'config providers (${provider:path:key}) are not supported; put the values in the file itself',
  'sasl.login.callback.handler.class': 'custom SASL login callback handlers are not supported; vigil authenticates with SASL PLAIN or SCRAM and a username and password',
  'sasl.client.callback.handler.class': 'custom SASL client callback handlers (e.g. AWS MSK IAM) are not supported; vigil authenticates with SASL PLAIN or SCRAM and a username and password',
  'sasl.login.class': 'custom SASL login classes are not supported; vigil authenticates with SASL PLAIN or SCRAM and a username and password',
  'ssl.engine.factory.class': 'a custom SSL engine factory is not supported; give the CA and client certificate as PEM',
  'security.providers': 'custom security providers are not supported',
};

export function kafkaSettingsFromProperties(props: ReadonlyMap<string, string>, io: ClientPropertiesIo): ClientPropertiesResult {
  const src = io.source;
  const fail = (what: string): never => {
    throw new VigilError('CONFIG_INVALID', `${src}: ${what}`);
  };
  const settings: KafkaClientSettings = {};
  const warnings: string[] = [];

  for (const [key, why] of Object.entries(REFUSED_KEYS)) if (props.has(key)) fail(`${key}: ${why}`);

  const servers = props.get('bootstrap.servers');
  if (servers !== undefined && servers.trim() !== '') {
    // Java accepts an optional listener prefix (SASL_SSL://host:port); the protocol comes
    // from security.protocol either way.
    settings.brokers = servers.split(',').map((s) => s.trim().replace(/^[A-Za-z_]+:\/\//, '')).filter((s) => s.length > 0);
  }
  const clientId = props.get('client.id');
  if (clientId !== undefined && clientId !== '') settings.clientId = clientId;
  for (const [key, field] of [['request.timeout.ms', 'requestTimeoutMs'], ['socket.connection.setup.timeout.ms', 'connectionTimeoutMs']] as const) {
    const text = props.get(key);
    if (text === undefined) continue;
    if (!/^\d+$/.test(text.trim()) || Number(text) <= 0) fail(`${key}: expected a whole number of milliseconds above 0; got "${text}"`);
    settings[field] = Number(text);
  }

  const protocolText = props.get('security.protocol');
  let protocol: Protocol | undefined;
  if (protocolText !== undefined) {
    protocol = PROTOCOLS.find((p) => p === protocolText.trim().toUpperCase());
    if (!protocol) fail(`security.protocol: "${protocolText}" is not one of ${PROTOCOLS.join(', ')}`);
  }
  const usesSsl = protocol === 'SSL' || protocol === 'SASL_SSL';
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';

  if (protocol !== undefined) {
    settings.ssl = usesSsl ? readSsl(props, io, fail, warnings) : false;
    settings.sasl = usesSasl ? readSasl(props, fail, warnings) : null;
  }
  // Set but not used by the chosen protocol: the Java client ignores these too, but a
  // reader who set them probably meant them to apply, so say so.
  const idle = [
    ...(usesSsl ? [] : SSL_KEYS.filter((k) => props.has(k))),
    ...(usesSasl ? [] : SASL_KEYS.filter((k) => props.has(k))),
  ];
  if (idle.length > 0) {
    warnings.push(`${src}: ignoring ${idle.join(', ')}: security.protocol is ${protocol ?? 'not set (the Java default is PLAINTEXT)'}, which does not use them`);
  }

  const known = new Set([...GENERAL_KEYS, ...SSL_KEYS, ...SASL_KEYS]);
  const unknown = [...props.keys()].filter((k) => !known.has(k));
  if (unknown.length > 0) warnings.push(`${src}: ignoring ${unknown.join(', ')}: not used by vigil`);
  return { settings, warnings };
}

function readSasl(props: ReadonlyMap<string, string>, fail: (what: string) => never, warnings: string[]): KafkaSaslConfig {
  const mechanismText = props.get('sasl.mechanism');
  let mechanism: KafkaSaslConfig['mechanism'] | undefined;
  if (mechanismText !== undefined) {
    const m = MECHANISMS[mechanismText.trim().toUpperCase()];
    if (!m) {
      fail(
        `sasl.mechanism=${mechanismText} is not supported: vigil speaks ${Object.keys(MECHANISMS).join(', ')} ` +
          '(no Kerberos/GSSAPI, no OAUTHBEARER); use a listener and principal with one of those',
      );
    }
    mechanism = m as KafkaSaslConfig['mechanism'];
  }
  const jaasText = props.get('sasl.jaas.config');
  if (jaasText === undefined || jaasText.trim() === '') {
    fail('security.protocol uses SASL but sasl.jaas.config is not set; add e.g. sasl.jaas.config=' + `${PLAIN_MODULE} required username="..." password="...";`);
  }
  let jaas: JaasEntry;
  try {
    jaas = parseJaasConfig(jaasText as string);
  } catch (err) {
    return fail(`sasl.jaas.config: ${(err as Error).message}`);
  }
  if (jaas.loginModule !== PLAIN_MODULE && jaas.loginModule !== SCRAM_MODULE) {
    fail(`sasl.jaas.config: login module ${jaas.loginModule} is not supported; vigil takes ${PLAIN_MODULE} or ${SCRAM_MODULE} with username and password`);
  }
  if (mechanism === undefined) {
    // Java's default is GSSAPI, which nobody means while giving a PlainLoginModule; for
    // SCRAM the hash cannot be guessed.
    if (jaas.loginModule === SCRAM_MODULE) fail('sasl.mechanism is not set; set it to SCRAM-SHA-256 or SCRAM-SHA-512 to match the ScramLoginModule of sasl.jaas.config');
    mechanism = 'plain';
  }
  const expectedModule = mechanism === 'plain' ? PLAIN_MODULE : SCRAM_MODULE;
  if (jaas.loginModule !== expectedModule) {
    fail(`sasl.jaas.config uses ${jaas.loginModule}, which does not match sasl.mechanism=${mechanismText ?? 'PLAIN'}; SASL ${mechanismText ?? 'PLAIN'} needs ${expectedModule}`);
  }
  const username = jaas.options.get('username');
  const password = jaas.options.get('password');
  if (!username || password === undefined) fail('sasl.jaas.config: needs both username="..." and password="..."');
  if (mechanism !== 'plain' && (jaas.options.get('tokenauth') ?? '').toLowerCase() === 'true') {
    fail('sasl.jaas.config: tokenauth=true (delegation tokens) is not supported; use a SCRAM user');
  }
  const extra = [...jaas.options.keys()].filter((k) => k !== 'username' && k !== 'password' && k !== 'tokenauth');
  if (extra.length > 0) warnings.push(`sasl.jaas.config: ignoring option(s) ${extra.join(', ')}`);
  return { mechanism, username: username as string, password: password as string };
}

function readSsl(props: ReadonlyMap<string, string>, io: ClientPropertiesIo, fail: (what: string) => never, warnings: string[]): KafkaSslConfig {
  const ssl: { -readonly [K in keyof KafkaSslConfig]: KafkaSslConfig[K] } = { rejectUnauthorized: true };

  // Trust: the CA certificates the brokers' certificates are checked against. Without
  // any, Node's bundled public CAs apply, as Java's default truststore would.
  const trustType = props.get('ssl.truststore.type')?.trim().toUpperCase();
  const trustLocation = props.get('ssl.truststore.location');
  const trustInline = props.get('ssl.truststore.certificates');
  if (trustType !== undefined && trustType !== 'PEM') fail(storeTypeProblem('ssl.truststore', trustType, trustLocation));
  if (trustLocation !== undefined && trustInline !== undefined) fail('set ssl.truststore.location or ssl.truststore.certificates, not both');
  if (trustLocation !== undefined) {
    const bytes = readStore(io, fail, 'ssl.truststore.location', trustLocation);
    if (trustType === undefined && !isPem(bytes)) fail(storeTypeProblem('ssl.truststore', sniffStoreType(bytes), trustLocation));
    ssl.ca = pemOf(fail, 'ssl.truststore.location', Buffer.from(bytes).toString('utf8'), 'CERTIFICATE');
  } else if (trustInline !== undefined) {
    ssl.ca = pemOf(fail, 'ssl.truststore.certificates', trustInline, 'CERTIFICATE');
  }
  if (props.has('ssl.truststore.password') && ssl.ca !== undefined) warnings.push('ignoring ssl.truststore.password: a PEM truststore has no password');

  // Identity: a client certificate and its key, for brokers that require mutual TLS.
  const keyType = props.get('ssl.keystore.type')?.trim().toUpperCase();
  const keyLocation = props.get('ssl.keystore.location');
  const chainInline = props.get('ssl.keystore.certificate.chain');
  const keyInline = props.get('ssl.keystore.key');
  if (keyType !== undefined && keyType !== 'PEM') fail(storeTypeProblem('ssl.keystore', keyType, keyLocation));
  if (keyLocation !== undefined && (chainInline !== undefined || keyInline !== undefined)) {
    fail('set ssl.keystore.location or ssl.keystore.certificate.chain with ssl.keystore.key, not both');
  }
  if (keyLocation !== undefined) {
    const bytes = readStore(io, fail, 'ssl.keystore.location', keyLocation);
    if (keyType === undefined && !isPem(bytes)) fail(storeTypeProblem('ssl.keystore', sniffStoreType(bytes), keyLocation));
    const text = Buffer.from(bytes).toString('utf8');
    ssl.cert = pemOf(fail, 'ssl.keystore.location', text, 'CERTIFICATE');
    ssl.key = pemOf(fail, 'ssl.keystore.location', text, 'PRIVATE KEY', { first: true });
  } else if (chainInline !== undefined || keyInline !== undefined) {
    if (chainInline === undefined || keyInline === undefined) fail('ssl.keystore.certificate.chain and ssl.keystore.key go together (a client certificate needs its key)');
    ssl.cert = pemOf(fail, 'ssl.keystore.certificate.chain', chainInline as string, 'CERTIFICATE');
    ssl.key = pemOf(fail, 'ssl.keystore.key', keyInline as string, 'PRIVATE KEY', { first: true });
  }
  const keyPassword = props.get('ssl.key.password');
  if (ssl.key !== undefined) {
    if (keyPassword !== undefined && keyPassword !== '') ssl.passphrase = keyPassword;
    else if (ssl.key.includes('ENCRYPTED')) fail('the client key is encrypted; set ssl.key.password');
  } else if (keyPassword !== undefined) {
    warnings.push('ignoring ssl.key.password: no client key is configured');
  }
  if (props.has('ssl.keystore.password') && ssl.key !== undefined) warnings.push('ignoring ssl.keystore.password: a PEM key takes ssl.key.password');

  const algorithm = props.get('ssl.endpoint.identification.algorithm');
  if (algorithm !== undefined) {
    const a = algorithm.trim().toLowerCase();
    if (a === '') ssl.verifyHostname = false;
    else if (a !== 'https') fail(`ssl.endpoint.identification.algorithm: "${algorithm}" is not supported; use https (check the broker's host name, the default) or leave it empty (do not)`);
  }
  return ssl;
}

function readStore(io: ClientPropertiesIo, fail: (what: string) => never, key: string, file: string): Uint8Array {
  try {
    return io.readFile(file);
  } catch (err) {
    return fail(`${key}: cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function isPem(bytes: Uint8Array): boolean {
  return Buffer.from(bytes).toString('latin1').includes('-----BEGIN ');
}

/** JKS files start with 0xFEEDFEED; PKCS12 is DER (0x30, a SEQUENCE). */
function sniffStoreType(bytes: Uint8Array): string {
  if (bytes[0] === 0xfe && bytes[1] === 0xed && bytes[2] === 0xfe && bytes[3] === 0xed) return 'JKS';
  if (bytes[0] === 0x30) return 'PKCS12';
  return 'JKS'; // Java's default ssl.*.type
}

/** The error for a JKS/PKCS12 store: what to run to get the PEM vigil reads. */
export function storeTypeProblem(prefix: 'ssl.truststore' | 'ssl.keystore', type: string, location: string | undefined): string {
  const file = location ?? (prefix === 'ssl.truststore' ? 'truststore.jks' : 'keystore.p12');
  const base = file.replace(/\.(jks|p12|pfx|pkcs12|keystore|truststore)$/i, '');
  // One line: the CLI prints the first line of an error only.
  if (prefix === 'ssl.truststore') {
    return (
      `${prefix}.type ${type} is not supported: vigil reads PEM. Convert it with: keytool -list -rfc -keystore ${file} > ${base}.pem ` +
      `— then set ssl.truststore.type=PEM and ssl.truststore.location=${base}.pem`
    );
  }
  const p12 = type === 'JKS' ? `${base}.p12` : file;
  return (
    `${prefix}.type ${type} is not supported: vigil reads PEM. Convert it with: ` +
    (type === 'JKS' ? `keytool -importkeystore -srckeystore ${file} -destkeystore ${p12} -deststoretype PKCS12 && ` : '') +
    `openssl pkcs12 -in ${p12} -out ${base}.pem -nodes ` +
    `— then set ssl.keystore.type=PEM and ssl.keystore.location=${base}.pem (the key is written unencrypted: keep the file private)`
  );
}

const PEM_BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * The PEM blocks of `text` whose label ends with `label` ("CERTIFICATE", "PRIVATE KEY"
 * also matching "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"), re-wrapped at 64 columns: a
 * properties value loses its line breaks to `\` continuations, and Node's PEM reader
 * needs them. Text between blocks (keytool's "Alias name:" lines) is skipped.
 */
export function pemBlocks(text: string, label: string): string[] {
  const out: string[] = [];
  for (const [, name, body] of text.matchAll(PEM_BLOCK_RE)) {
    if (!(name as string).endsWith(label)) continue;
    const base64 = (body as string).replace(/\s+/g, '');
    const lines = base64.match(/.{1,64}/g) ?? [];
    out.push(`-----BEGIN ${name}-----\n${lines.join('\n')}\n-----END ${name}-----\n`);
  }
  return out;
}

function pemOf(fail: (what: string) => never, key: string, text: string, label: string, opts: { first?: boolean } = {}): string {
  const blocks = pemBlocks(text, label);
  if (blocks.length === 0) return fail(`${key}: no PEM ${label} block ("-----BEGIN ${label}-----") found`);
  return opts.first ? (blocks[0] as string) : blocks.join('');
}

export interface JaasEntry {
  loginModule: string;
  flag: string;
  options: Map<string, string>;
}

/**
 * One JAAS login module entry as Kafka's sasl.jaas.config holds it:
 * `<class> <required|requisite|sufficient|optional> [key=value ...];` where a value is a
 * bare word or a "quoted string" with backslash escapes.
 */
export function parseJaasConfig(text: string): JaasEntry {
  const tokens = tokenizeJaas(text);
  let i = 0;
  const next = () => tokens[i++];
  const loginModule = next();
  if (!loginModule || loginModule.kind !== 'word') throw new Error('expected a login module class, e.g. ' + `${PLAIN_MODULE} required username="..." password="...";`);
  const flag = next();
  if (!flag || flag.kind !== 'word' || !['required', 'requisite', 'sufficient', 'optional'].includes(flag.text.toLowerCase())) {
    throw new Error(`expected "required" after ${loginModule.text}`);
  }
  const options = new Map<string, string>();
  for (;;) {
    const t = next();
    if (!t) throw new Error('expected ";" at the end of the login module entry');
    if (t.kind === ';') break;
    if (t.kind !== 'word') throw new Error(`expected an option name; got ${describeToken(t)}`);
    const eq = next();
    if (!eq || eq.kind !== '=') throw new Error(`expected "=" after option ${t.text}`);
    const value = next();
    if (!value || (value.kind !== 'word' && value.kind !== 'quoted')) throw new Error(`expected a value for option ${t.text}`);
    options.set(t.text, value.text);
  }
  if (i < tokens.length) throw new Error('holds more than one login module; Kafka clients take exactly one');
  return { loginModule: loginModule.text, flag: flag.text.toLowerCase(), options };
}

type JaasToken = { kind: 'word' | 'quoted'; text: string } | { kind: '=' | ';'; text: string };

function describeToken(t: JaasToken): string {
  return t.kind === 'quoted' ? 'a quoted string' : `"${t.text}"`;
}

const JAAS_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', b: '\b' };

function tokenizeJaas(text: string): JaasToken[] {
  const tokens: JaasToken[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '=' || c === ';') {
      tokens.push({ kind: c, text: c });
      i++;
    } else if (c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('a quoted value is not closed with "');
        const q = text[i++] as string;
        if (q === '"') break;
        if (q === '\\' && i < text.length) {
          const e = text[i++] as string;
          value += JAAS_ESCAPES[e] ?? e;
        } else {
          value += q;
        }
      }
      tokens.push({ kind: 'quoted', text: value });
    } else {
      let word = '';
      while (i < text.length && !/[\s=;"]/.test(text[i] as string)) word += text[i++];
      tokens.push({ kind: 'word', text: word });
    }
  }
  return tokens;
}

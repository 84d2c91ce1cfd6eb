// The connection to etcd, for the agent and for `sctl fleet` alike. Flags and environment follow etcdctl's names, so
// a fleet reuses the settings its operators already have: SYSMASTER_ETCD_* first, then ETCDCTL_*.
import fs from 'node:fs';
import type { Etcd3, IOptions } from 'etcd3';

const CALL_MS = 5000;

export interface EtcdFlags {
  endpoints?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  user?: string;
  password?: string;
}

export const ETCD_HELP = `etcd: --endpoints (default http://127.0.0.1:2379), --cacert/--cert/--key for TLS, --user NAME[:PASSWORD] and
--password; or SYSMASTER_ETCD_ENDPOINTS, _CACERT, _CERT, _KEY, _USER, _PASSWORD, or etcdctl's ETCDCTL_* (docs/fleet.md).`;

/** Options for every command that talks to etcd (commander's `.option` arguments). */
export const ETCD_OPTIONS: [string, string][] = [
  ['--endpoints <urls>', 'etcd endpoints, comma-separated'],
  ['--cacert <file>', 'verify etcd servers with this CA bundle (TLS)'],
  ['--cert <file>', 'client certificate for TLS'],
  ['--key <file>', "client certificate's private key"],
  ['--user <name[:password]>', 'etcd user (auth)'],
  ['--password <password>', "etcd user's password"],
];

function setting(flags: EtcdFlags, name: keyof EtcdFlags, env: NodeJS.ProcessEnv): string | undefined {
  const upper = name.toUpperCase();
  return flags[name] ?? env[`SYSMASTER_ETCD_${upper}`] ?? env[`ETCDCTL_${upper}`];
}

/** etcd3's options from flags and environment: a bad file or a half-given credential is an error that says which. */
export function etcdOptions(flags: EtcdFlags, env: NodeJS.ProcessEnv = process.env): IOptions {
  const endpoints = (setting(flags, 'endpoints', env) ?? 'http://127.0.0.1:2379')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => (/^[a-z]+:\/\//.test(e) ? e : `http://${e}`));
  const read = (what: string, file: string | undefined) => {
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the ${what} ${file}: ${(err as Error).message}`);
    }
  };
  // Unary calls give up after CALL_MS (retried by the caller); streams (watches, lease keepalives) live on.
  const opts: IOptions = { hosts: endpoints, dialTimeout: 3000, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_MS }) };
  const ca = read('CA bundle (--cacert)', setting(flags, 'cacert', env));
  const cert = read('client certificate (--cert)', setting(flags, 'cert', env));
  const key = read('client key (--key)', setting(flags, 'key', env));
  if (Boolean(cert) !== Boolean(key)) throw new Error('--cert and --key go together: give both, or neither');
  if (ca || cert) {
    // grpc-js takes TLS from the credentials, not the URL; a null CA means the system's (as for https:// alone).
    opts.credentials = { rootCertificate: ca ?? (null as unknown as Buffer), ...(cert && { certChain: cert, privateKey: key }) };
    opts.hosts = endpoints.map((e) => e.replace(/^http:/, 'https:'));
  }
  const user = setting(flags, 'user', env);
  if (user) {
    const colon = user.indexOf(':');
    const username = colon >= 0 ? user.slice(0, colon) : user;
    const password = colon >= 0 ? user.slice(colon + 1) : setting(flags, 'password', env);
    if (password === undefined) throw new Error(`no password for etcd user ${username}: --user NAME:PASSWORD, or --password`);
    opts.auth = { username, password };
  }
  return opts;
}

/** A client (not yet connected: the first call connects). etcd3 and gRPC load here, not with the CLIs. */
export async function connect(flags: EtcdFlags, env: NodeJS.ProcessEnv = process.env): Promise<Etcd3> {
  const options = etcdOptions(flags, env);
  const { Etcd3 } = await import('etcd3');
  return new Etcd3(options);
}

/** The etcd endpoints a client uses, for messages. */
export function endpointsOf(flags: EtcdFlags, env: NodeJS.ProcessEnv = process.env): string {
  return [etcdOptions(flags, env).hosts].flat().join(',');
}

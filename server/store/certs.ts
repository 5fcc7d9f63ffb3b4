import { byApp, now, type Db } from './db.ts';
import type { Sealer } from './sealing.ts';

/** A certificate uploaded with certs:add, as served for one host. */
export interface UploadedCert {
  host: string;
  certPem: string;
  keyPem: string;
}

/** Per-app certificate settings: automatic (ACME) on or off, and uploaded certificates per host. */
export function certsStore(db: Db, sealer: Sealer) {
  return {
    /** Whether the app's hosts get ACME certificates (on unless certs:auto:disable ran). */
    auto: (app: string): boolean =>
      (db.prepare<[string], { certs_auto: number }>('SELECT certs_auto FROM apps WHERE name = ?').get(app)?.certs_auto ?? 1) === 1,
    /** Turns automatic certificates on or off. */
    setAuto: (app: string, on: boolean): void => {
      db.prepare('UPDATE apps SET certs_auto = ? WHERE name = ?').run(on ? 1 : 0, app);
    },
    /** The hosts with an uploaded certificate, by app (no PEMs): one query for a list of apps. */
    uploadedHosts: (): Map<string, string[]> =>
      byApp(db.prepare<[], { app: string; value: string }>('SELECT app, host AS value FROM certs ORDER BY app, host').all()),
    /** The app's uploaded certificates, by host. */
    uploaded: (app: string): UploadedCert[] =>
      db.prepare<[string], { host: string; cert_pem: string; key_pem: string }>('SELECT host, cert_pem, key_pem FROM certs WHERE app = ? ORDER BY host')
        .all(app).map((r) => ({ host: r.host, certPem: r.cert_pem, keyPem: sealer.open(r.key_pem, 'certs.key_pem', [app, r.host]) })),
    /** Serves `certPem`/`keyPem` for each of `hosts` (replacing what was uploaded for them). */
    upload: (app: string, hosts: readonly string[], certPem: string, keyPem: string): void =>
      db.transaction(() => {
        const put = db.prepare('INSERT OR REPLACE INTO certs (app, host, cert_pem, key_pem, created_at) VALUES (?, ?, ?, ?, ?)');
        for (const h of hosts) put.run(app, h, certPem, sealer.seal(keyPem, 'certs.key_pem', [app, h]), now());
      }).immediate(),
    /** Forgets the uploaded certificate of one host; false if there was none. */
    remove: (app: string, host: string): boolean =>
      db.prepare('DELETE FROM certs WHERE app = ? AND host = ?').run(app, host).changes === 1,
  };
}

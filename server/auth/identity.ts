/** Who is asking: bound after the SSH signature or the HTTP token was verified. */
export interface Identity {
  /** Key name; `local` for the local CLI. */
  name: string;
  admin: boolean;
  via: 'ssh' | 'http' | 'local';
}

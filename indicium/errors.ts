/**
 * The one error the indicium decoder raises. `reason` is a stable code (see FORMAT.md, "Malformed
 * records"); `detail` is for people. The decoder throws nothing else, whatever the input.
 */
export type MalformedReason =
  | 'not_bytes'
  | 'length'
  | 'version'
  | 'algorithm'
  | 'key_id'
  | 'reserved_bits'
  | 'vendor'
  | 'device'
  | 'serial'
  | 'date'
  | 'postage'
  | 'mail_class'
  | 'weight'
  | 'origin_zip'
  | 'destination_zip'
  | 'ascending_register'
  | 'software_id';

export class MalformedIndicium extends Error {
  override readonly name = 'MalformedIndicium';
  constructor(
    readonly reason: MalformedReason,
    readonly detail: string,
  ) {
    super(`malformed indicium (${reason}): ${detail}`);
  }
}

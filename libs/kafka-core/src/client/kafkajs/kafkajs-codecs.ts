import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { CompressionCodec } from '../kafka-client.port';

/**
 * Codecs kafkajs does not ship, each registered the way its package documents: snappy's module is
 * the codec, lz4's is a class holding it, zstd's a factory returning it.
 */
const CODEC_PACKAGES: Record<
  Exclude<CompressionCodec, 'none' | 'gzip'>,
  { name: string; type: CompressionTypes; load: (module: never) => unknown }
> = {
  snappy: { name: 'kafkajs-snappy', type: CompressionTypes.Snappy, load: (m) => m },
  lz4: {
    name: 'kafkajs-lz4',
    type: CompressionTypes.LZ4,
    load: (m: { default?: new () => { codec: unknown } } & (new () => { codec: unknown })) =>
      new (m.default ?? m)().codec,
  },
  zstd: { name: '@kafkajs/zstd', type: CompressionTypes.ZSTD, load: (m: () => unknown) => m() },
};

const registeredCodecs = new Set<CompressionTypes>();

/** Maps a codec name to kafkajs' type, registering the codec package the first time it is used. */
export function compressionType(codec: CompressionCodec = 'none'): CompressionTypes {
  if (codec === 'none') return CompressionTypes.None;
  if (codec === 'gzip') return CompressionTypes.GZIP;
  const entry = CODEC_PACKAGES[codec];
  if (!entry) throw new Error(`Unknown compression "${String(codec)}" (use none, gzip, snappy, lz4, zstd)`);
  // kafkajs' slots for these codecs hold functions that throw until a codec is registered.
  if (!registeredCodecs.has(entry.type)) {
    let codecModule: never;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      codecModule = require(entry.name) as never;
    } catch {
      throw new Error(`Compression "${codec}" needs the package ${entry.name}: npm install ${entry.name}`);
    }
    (CompressionCodecs as Record<number, unknown>)[entry.type] = entry.load(codecModule);
    registeredCodecs.add(entry.type);
  }
  return entry.type;
}

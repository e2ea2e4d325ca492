// Type declarations for @swapwire/client, written by hand to match index.js.

import type { ChannelCredentials, ChannelOptions, ServiceError, status as grpcStatus } from '@grpc/grpc-js';

/** What predict takes: text, data, numbers, strings, or an explicit kind. */
export type Input =
  | string
  | Uint8Array
  | ReadonlyArray<number | bigint>
  | ReadonlyArray<string>
  | Float64Array
  | Float32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | { text: string }
  | { data: Uint8Array | ReadonlyArray<number> }
  | { ints: ReadonlyArray<number | bigint> | { values: ReadonlyArray<number | bigint> } }
  | { floats: ReadonlyArray<number> | Float64Array | Float32Array | { values: ReadonlyArray<number> } }
  | { strings: ReadonlyArray<string> | { values: ReadonlyArray<string> } };

/** A label as returned: ints are Numbers when all are safe integers, else BigInts. */
export type Label = string | Buffer | number[] | bigint[] | string[] | null;

/** The kind of a returned label, so whole-number floats can be told from ints. */
export type LabelKind = 'text' | 'data' | 'ints' | 'floats' | 'strings' | null;

export type Option = { [key: string]: unknown };

export interface ClientOptions {
  /** Sent as "authorization: Bearer <token>" on every call. */
  token?: string;
  /** Default deadline of each call in milliseconds (30000); 0 or Infinity for none. */
  timeoutMs?: number;
  credentials?: ChannelCredentials;
  /** Where swapwire/v1/*.proto live (default: inside the package). */
  protoDir?: string;
  /** Always return ints labels as BigInts. */
  bigint?: boolean;
  channelOptions?: ChannelOptions;
}

export interface CallOptions {
  timeoutMs?: number;
}

export interface PredictOptions extends CallOptions {
  model?: string;
  version?: number;
  label?: string;
  option?: Option;
}

export interface PredictResult {
  model: string;
  version: number;
  label: Label;
  labelKind: LabelKind;
  scores: number[];
  option: Option;
  id?: string;
}

export interface StreamItem {
  input: Input;
  model?: string;
  version?: number;
  label?: string;
  option?: Option;
  id?: string;
}

export interface StreamError {
  id: string;
  error: { code: number; message: string };
}

export interface ServiceInfo {
  name: string;
  serviceLevel: string;
  swapwireVersion: string;
  defaultModel: string;
  models: Array<{ name: string; servingVersion: number; loadedVersions: number[]; labels: Record<string, number> }>;
}

export interface VersionStatus {
  version: number;
  state: string;
  error: string;
  loadSeconds: number;
  loadedAt: Date | null;
  inFlight: number;
}

export interface ModelStatus {
  name: string;
  servingVersion: number;
  pinnedVersion: number;
  labels: Record<string, number>;
  weights: Record<string, number>;
  default: boolean;
  versions: VersionStatus[];
}

export interface UploadResult {
  model: string;
  version: number;
  sha256: string;
  size: number;
  files: number;
}

export type Example = { input: Input; label: Input | number | bigint; option?: Option } | [Input, Input | number | bigint, Option?];

export interface Evaluation {
  model: string;
  version: number;
  examples: number;
  errors: number;
  accuracy: number;
  labels: Array<{ label: string; precision: number; recall: number; f1: number; support: number }>;
  confusionLabels: string[];
  confusion: number[][];
  details: Array<{ index: number; expected: string; predicted: string; correct: boolean; error: string }>;
}

export class Client {
  constructor(addr: string, options?: ClientOptions);
  readonly addr: string;
  timeoutMs: number;
  close(): void;
  predict(input: Input, options?: PredictOptions): Promise<PredictResult>;
  predictStream(items: Iterable<Input | StreamItem>, options?: PredictOptions): Promise<Array<PredictResult | StreamError>>;
  serviceInfo(options?: CallOptions): Promise<ServiceInfo>;
  health(service?: string, options?: CallOptions): Promise<'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN'>;
  models(model?: string, options?: CallOptions): Promise<ModelStatus[]>;
  upload(model: string, dir: string, options?: CallOptions & { version?: number; chunkSize?: number; onProgress?: (sent: number, total: number) => void }): Promise<UploadResult>;
  switchModel(model: string, version: number | null, options?: CallOptions): Promise<ModelStatus>;
  setLabel(model: string, label: string, version: number | null, options?: CallOptions): Promise<ModelStatus>;
  splitTraffic(model: string, weights: Record<number, number> | null, options?: CallOptions): Promise<ModelStatus>;
  rollback(model: string, options?: CallOptions): Promise<{ fromVersion: number; toVersion: number }>;
  deleteVersion(model: string, version: number, options?: CallOptions): Promise<void>;
  evaluate(model: string, examples: Iterable<Example>, options?: CallOptions & { version?: number; details?: boolean }): Promise<Evaluation>;
}

export const status: typeof grpcStatus;
export type { ServiceError };

export function toValue(x: Input): object;
export function fromValue(v: object, asBigInt?: boolean): Label;
export function toLabel(x: Input | number | bigint): object;
export function toStruct(obj: Option): object;
export function fromStruct(s: object): Option;
export function buildArchive(dir: string): Buffer;

/**
 * The OpenAPI 3.1 document of the automation API: our batch routes and the vendor-shaped machine action
 * routes, built from the same zod schemas the service validates requests with and the REST contract
 * (shared/wire/batch.ts) its answers follow. Served at `GET /api/v1/openapi.json`; checked in as openapi.json
 * by `npm run docs:api` (a unit test fails when the two differ).
 */
import { z } from 'zod';
import {
  batchCreateRequest,
  batchList,
  batchRecord,
  batchResults,
  DEFAULT_BATCH_EXPIRY_SEC,
  deviceCommandAnswer,
  deviceCommandRequest,
  MAX_BATCH_STEPS,
} from '../shared/wire/batch.js';
import {
  cancelMachineActionRequest,
  downloadLink,
  machineAction,
  machineActionList,
  runLiveResponseRequest,
  runScriptResult,
  vendorError,
} from './batch/machine-actions.js';

type Json = Record<string, unknown>;

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, {
    target: 'draft-2020-12',
    io,
    // The contract's only custom schema is a record's row, checked for shape only (any JSON object): it is
    // documented as what it accepts.
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema._zod.def.type === 'custom')
        Object.assign(jsonSchema, { type: 'object', propertyNames: { type: 'string' }, additionalProperties: {} });
    },
  }) as Json;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonBody = (name: string, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
});
const ourError = (description: string) => jsonBody('Error', description);
const vendorErr = (description: string) => jsonBody('VendorError', description);
const tooMany = (shape: 'Error' | 'VendorError') => ({
  ...jsonBody(shape, 'Too many calls with this API token in the last minute (see limits in docs/api.md)'),
  headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer', minimum: 1 } } },
});
const pathParam = (name: string, description: string, schema: Json = { type: 'string' }) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema,
});
const queryParam = (name: string, description: string, schema: Json) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const batchId = pathParam('id', 'The batch id');
const actionId = pathParam('id', 'The machine action id');

export function buildOpenApi(): Json {
  const schemas: Json = {
    Error: {
      type: 'object',
      properties: { error: { type: 'string' } },
      required: ['error'],
      additionalProperties: false,
    },
    BatchCreateRequest: schemaOf(batchCreateRequest, 'input'),
    BatchRecord: schemaOf(batchRecord, 'output'),
    BatchList: schemaOf(batchList, 'output'),
    BatchResults: schemaOf(batchResults, 'output'),
    // The body batch-routes.ts validates (kept there); written out here.
    DeviceCommandRequest: schemaOf(deviceCommandRequest, 'input'),
    DeviceCommandAnswer: schemaOf(deviceCommandAnswer, 'output'),
    RunLiveResponseRequest: schemaOf(runLiveResponseRequest, 'input'),
    CancelMachineActionRequest: schemaOf(cancelMachineActionRequest, 'input'),
    MachineAction: schemaOf(machineAction, 'output'),
    MachineActionList: schemaOf(machineActionList, 'output'),
    DownloadLink: schemaOf(downloadLink, 'output'),
    RunScriptResult: schemaOf(runScriptResult, 'output'),
    VendorError: schemaOf(vendorError, 'output'),
  };
  const paths: Json = {
    '/api/v1/openapi.json': {
      get: {
        operationId: 'openApi',
        summary: 'This document',
        tags: ['meta'],
        security: [],
        responses: {
          200: {
            description: 'The OpenAPI 3.1 document',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/api/v1/batches': {
      post: {
        operationId: 'createBatch',
        summary:
          'Runs console command lines over a set of devices (each device in its own session; offline ones wait up to expiresInSec)',
        tags: ['batches'],
        requestBody: { required: true, content: { 'application/json': { schema: ref('BatchCreateRequest') } } },
        responses: {
          201: jsonBody('BatchRecord', 'The batch, as created'),
          400: ourError('Bad body, unknown device or command line that does not parse (one line)'),
          403: ourError("The user's role cannot run one of the commands"),
          429: tooMany('Error'),
        },
      },
      get: {
        operationId: 'listBatches',
        summary: 'Batches, newest first',
        tags: ['batches'],
        parameters: [queryParam('limit', 'How many (newest first)', { type: 'integer', minimum: 1 })],
        responses: { 200: jsonBody('BatchList', 'Batch summaries') },
      },
    },
    '/api/v1/batches/{id}': {
      get: {
        operationId: 'getBatch',
        summary: 'One batch with every device and step',
        tags: ['batches'],
        parameters: [batchId],
        responses: { 200: jsonBody('BatchRecord', 'The batch'), 404: ourError('No such batch') },
      },
    },
    '/api/v1/batches/{id}/cancel': {
      post: {
        operationId: 'cancelBatch',
        summary: "Cancels every device's queued and running work",
        tags: ['batches'],
        parameters: [batchId],
        responses: { 200: jsonBody('BatchRecord', 'The batch after the cancel'), 404: ourError('No such batch') },
      },
    },
    '/api/v1/batches/{id}/results': {
      get: {
        operationId: 'batchResults',
        summary: "Every device's records in one table (a device column), JSON or CSV",
        tags: ['batches'],
        parameters: [
          batchId,
          queryParam('device', 'Only this device (name or id)', { type: 'string' }),
          queryParam('step', 'Only this step (0 is the first command)', {
            type: 'integer',
            minimum: 0,
            maximum: MAX_BATCH_STEPS - 1,
          }),
          queryParam('format', 'json (default) or csv', { type: 'string', enum: ['json', 'csv'] }),
          queryParam(
            'limit',
            'At most this many rows (default and most: 200 000); `truncated` says when the table was cut',
            { type: 'integer', minimum: 0, maximum: 200_000 },
          ),
        ],
        responses: {
          200: {
            description: 'The merged table',
            content: {
              'application/json': { schema: ref('BatchResults') },
              'text/csv': { schema: { type: 'string' } },
            },
          },
          404: ourError('No such batch'),
        },
      },
    },
    '/api/v1/batches/{id}/files/{deviceId}/{step}': {
      get: {
        operationId: 'batchFile',
        summary: 'A file a step pulled from a device (getfile, collect)',
        tags: ['batches'],
        parameters: [
          batchId,
          pathParam('deviceId', 'The device id'),
          pathParam('step', 'The step (0 is the first command)', { type: 'integer', minimum: 0 }),
        ],
        responses: {
          200: {
            description: 'The file bytes',
            headers: { 'x-content-sha256': { description: 'SHA-256 of the bytes (hex)', schema: { type: 'string' } } },
            content: {
              'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
            },
          },
          404: ourError('No such batch, device, step or file'),
        },
      },
    },
    '/api/v1/batches/{id}/text/{deviceId}/{step}': {
      get: {
        operationId: 'batchText',
        summary: "A step's text output on a device (scripts, text commands)",
        tags: ['batches'],
        parameters: [
          batchId,
          pathParam('deviceId', 'The device id'),
          pathParam('step', 'The step (0 is the first command)', { type: 'integer', minimum: 0 }),
        ],
        responses: {
          200: { description: 'The text', content: { 'text/plain': { schema: { type: 'string' } } } },
          404: ourError('No such batch, device, step or text'),
        },
      },
    },
    '/api/v1/devices/{device}/commands': {
      post: {
        operationId: 'runDeviceCommand',
        summary:
          'Runs one console command line on one device (a batch of one) and answers its results when it ends, or 202 with the batch to poll',
        tags: ['batches'],
        parameters: [pathParam('device', 'The device name or id')],
        requestBody: { required: true, content: { 'application/json': { schema: ref('DeviceCommandRequest') } } },
        responses: {
          200: jsonBody('DeviceCommandAnswer', 'The batch, final, and its results'),
          202: jsonBody('DeviceCommandAnswer', 'The batch, still running or queued (poll GET /api/v1/batches/{id})'),
          400: ourError('Bad body, unknown device or command line that does not parse (one line)'),
          403: ourError("The user's role cannot run the command"),
          429: tooMany('Error'),
        },
      },
    },
    '/api/v1/machines/{id}/runliveresponse': {
      post: {
        operationId: 'runLiveResponse',
        summary: `Runs PutFile/RunScript/GetFile commands in order on one machine (vendor-compatible); waits up to ${DEFAULT_BATCH_EXPIRY_SEC / 86400} days while it is offline; a failing command stops the ones after it`,
        tags: ['machine actions'],
        parameters: [pathParam('id', 'The device id or name')],
        requestBody: { required: true, content: { 'application/json': { schema: ref('RunLiveResponseRequest') } } },
        responses: {
          201: jsonBody('MachineAction', 'The machine action, as created (Pending or InProgress)'),
          400: vendorErr(
            'Bad body (one line naming the field), or ActiveRequestAlreadyExists: the machine has an action pending or in progress',
          ),
          403: vendorErr(
            "The user's role cannot run one of the commands (RunScript and PutFile need the advanced role)",
          ),
          404: vendorErr('No such machine'),
          429: tooMany('VendorError'),
        },
      },
    },
    '/api/v1/machineactions': {
      get: {
        operationId: 'listMachineActions',
        summary: 'Machine actions, newest first',
        tags: ['machine actions'],
        parameters: [
          queryParam('$top', 'How many (default 100, at most 1000)', { type: 'integer', minimum: 1, maximum: 1000 }),
        ],
        responses: {
          200: jsonBody('MachineActionList', 'Machine actions'),
          400: vendorErr('Bad $top'),
          429: tooMany('VendorError'),
        },
      },
    },
    '/api/v1/machineactions/{id}': {
      get: {
        operationId: 'getMachineAction',
        summary: 'One machine action (poll it until Succeeded, Failed, TimeOut or Cancelled)',
        tags: ['machine actions'],
        parameters: [actionId],
        responses: {
          200: jsonBody('MachineAction', 'The machine action'),
          404: vendorErr('No such machine action'),
          429: tooMany('VendorError'),
        },
      },
    },
    '/api/v1/machineactions/{id}/cancel': {
      post: {
        operationId: 'cancelMachineAction',
        summary: 'Cancels a machine action (its running command is cancelled, the others not run)',
        tags: ['machine actions'],
        parameters: [actionId],
        requestBody: { required: true, content: { 'application/json': { schema: ref('CancelMachineActionRequest') } } },
        responses: {
          200: jsonBody('MachineAction', 'The machine action after the cancel'),
          404: vendorErr('No such machine action'),
          429: tooMany('VendorError'),
        },
      },
    },
    '/api/v1/machineactions/{id}/GetLiveResponseResultDownloadLink(index={index})': {
      get: {
        operationId: 'getLiveResponseResultDownloadLink',
        summary: "A single-use link (30 minutes) to one command's result",
        tags: ['machine actions'],
        parameters: [actionId, pathParam('index', 'The command (0 is the first)', { type: 'integer', minimum: 0 })],
        responses: {
          200: jsonBody('DownloadLink', 'The link (no API token needed to fetch it)'),
          400: vendorErr('No such command, or the command has no result (not run, failed)'),
          404: vendorErr('No such machine action'),
          429: tooMany('VendorError'),
        },
      },
    },
    '/api/v1/results/{token}': {
      get: {
        operationId: 'liveResponseResult',
        summary:
          "One command's result, through a download link: GetFile the file; RunScript a JSON with its output and exit code; PutFile the putfile record",
        tags: ['machine actions'],
        security: [],
        parameters: [pathParam('token', 'From the link')],
        responses: {
          200: {
            description: 'The result',
            headers: {
              'x-content-sha256': { description: 'GetFile: SHA-256 of the bytes (hex)', schema: { type: 'string' } },
            },
            content: {
              'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
              'application/json': { schema: { anyOf: [ref('RunScriptResult'), { type: 'object' }] } },
            },
          },
          404: ourError('Unknown or expired link'),
          410: ourError('The link was already used'),
        },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Live response service API',
      version: '1',
      description:
        'Batches over many devices and the vendor-compatible machine actions (runliveresponse). Authenticate with an API token: `Authorization: Bearer lr_…` (see docs/api.md).',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'batches', description: 'Our batch runs (lr batch, the workstation)' },
      { name: 'machine actions', description: "Compatible with the reference vendor's live response API" },
      { name: 'meta' },
    ],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token (lr-server user add / user token, or the admin profile)',
        },
      },
      schemas,
    },
  };
}

/** The document as checked in and served (stable key order, two-space indent, final newline). */
export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApi(), null, 2)}\n`;
}

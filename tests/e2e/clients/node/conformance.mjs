// The OpenAI Node SDK against a running ocigate: chat, streaming, tools, structured output, Responses, errors.
//
//   OCIGATE_URL=http://127.0.0.1:8080 OCIGATE_KEY=<gateway key> MODELS=openai.gpt-oss-120b,xai.grok-3 \
//     node tests/e2e/clients/node/conformance.mjs
//
// EXPECT_NO_RESPONSES=model,... turns "the gateway refuses the Responses API for this model" (a 400 whose message
// names the Responses API) into a skip for those models; for any other model it is a failure. Prints one line
// per check and a summary "N passed, M failed"; exits 1 when a check failed.

import OpenAI from 'openai';
import { VERSION } from 'openai/version';

const PROMPT = 'Reply with the single word ok.';

const list = (value) => (value || '').split(',').map((s) => s.trim()).filter(Boolean);
const root = (process.env.OCIGATE_URL || 'http://127.0.0.1:8080').trim().replace(/\/+$/, '').replace(/\/v1$/, '');
const key = process.env.OCIGATE_KEY || 'ocigate';
const models = list(process.env.MODELS);
const expectNoResponses = new Set(list(process.env.EXPECT_NO_RESPONSES));

const client = new OpenAI({ baseURL: `${root}/v1`, apiKey: key, maxRetries: 0, timeout: 30_000 });

class Skip extends Error {}
// A check that did not hold: reported by its message alone, where any other error gets its stack.
class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

function nonEmptyText(value, what) {
  check(typeof value === 'string' && value.length > 0, `${what} is ${JSON.stringify(value)}, not text`);
}

const counts = { passed: 0, failed: 0, skipped: 0 };

function describe(err) {
  if (err instanceof OpenAI.APIError) return `${err.constructor.name} (status ${err.status}): ${err.message}`;
  if (err instanceof Failure) return err.message;
  return err && err.stack ? err.stack : String(err);
}

async function run(model, name, body) {
  const started = Date.now();
  try {
    await body();
    counts.passed += 1;
    console.log(`PASS ${model} ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    if (err instanceof Skip) {
      counts.skipped += 1;
      console.log(`SKIP ${model} ${name}: ${err.message}`);
    } else {
      counts.failed += 1;
      console.log(`FAIL ${model} ${name}: ${describe(err)}`);
    }
  }
}

async function chat(model) {
  const reply = await client.chat.completions.create({ model, messages: [{ role: 'user', content: PROMPT }] });
  check(reply.object === 'chat.completion', `object is ${reply.object}`);
  nonEmptyText(reply.id, 'id');
  const choice = reply.choices[0];
  nonEmptyText(choice.message.content, 'message.content');
  check(choice.finish_reason === 'stop', `finish_reason is ${choice.finish_reason}`);
  check(reply.usage && reply.usage.total_tokens > 0, `usage is ${JSON.stringify(reply.usage)}`);
}

async function chatStream(model) {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: PROMPT }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const ids = new Set();
  let text = '';
  let finish = null;
  let usage = null;
  let chunksAfterUsage = 0;
  for await (const chunk of stream) {
    ids.add(chunk.id);
    if (usage) chunksAfterUsage += 1;
    for (const choice of chunk.choices) {
      if (choice.delta && choice.delta.content) text += choice.delta.content;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (chunk.usage) {
      check(chunk.choices.length === 0, 'the usage chunk carries choices');
      usage = chunk.usage;
    }
  }
  check(ids.size === 1, `the chunks carry ${ids.size} ids: ${[...ids].join(', ')}`);
  nonEmptyText(text, 'the accumulated content');
  check(finish === 'stop', `finish_reason is ${finish}`);
  check(usage && usage.total_tokens > 0, 'no usage chunk although stream_options.include_usage was set');
  check(chunksAfterUsage === 0, 'chunks follow the usage chunk');
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The current weather in a city.',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};

async function tools(model) {
  const messages = [{ role: 'user', content: 'What is the weather in Chicago? Use the get_weather tool.' }];
  const first = await client.chat.completions.create({ model, messages, tools: [WEATHER_TOOL] });
  const turn = first.choices[0];
  check(turn.finish_reason === 'tool_calls', `first turn: finish_reason is ${turn.finish_reason}`);
  const call = (turn.message.tool_calls || [])[0];
  check(call && call.type === 'function', 'first turn: no function call');
  nonEmptyText(call.id, 'the tool call id');
  check(call.function.name === 'get_weather', `first turn: called ${call.function.name}`);
  const args = JSON.parse(call.function.arguments);
  check(typeof args.city === 'string', `first turn: arguments ${call.function.arguments} have no city`);
  // The assistant message goes back as the SDK returned it, as agents do.
  messages.push(turn.message);
  messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify({ city: args.city, celsius: 21 }) });
  const second = await client.chat.completions.create({ model, messages, tools: [WEATHER_TOOL] });
  nonEmptyText(second.choices[0].message.content, 'second turn: message.content');
  check(second.choices[0].finish_reason === 'stop', `second turn: finish_reason is ${second.choices[0].finish_reason}`);
}

async function structuredOutput(model) {
  const schema = {
    type: 'object',
    properties: { answer: { type: 'string' }, confidence: { type: 'number' } },
    required: ['answer', 'confidence'],
    additionalProperties: false,
  };
  const reply = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'What is the capital of France? Answer in JSON.' }],
    response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } },
  });
  const content = reply.choices[0].message.content;
  nonEmptyText(content, 'message.content');
  const parsed = JSON.parse(content);
  check(typeof parsed.answer === 'string', `answer is missing from ${content}`);
  check(typeof parsed.confidence === 'number', `confidence is missing from ${content}`);
}

// A refusal of the Responses API for a model, as Oracle words it for Meta and Cohere models.
function refusesResponses(err) {
  return err instanceof OpenAI.BadRequestError && /responses api/i.test(err.message);
}

function viaResponses(model, body) {
  return async () => {
    try {
      await body(model);
    } catch (err) {
      if (!refusesResponses(err)) throw err;
      if (expectNoResponses.has(model)) {
        throw new Skip(`expected (EXPECT_NO_RESPONSES): the gateway refuses the Responses API: ${err.message}`);
      }
      throw new Failure(
        `the gateway refuses the Responses API for ${model} (${err.message}); it should serve it, translating ` +
          'to Chat Completions where the upstream cannot',
      );
    }
    if (expectNoResponses.has(model)) {
      console.log(`NOTE ${model}: the gateway now serves the Responses API; drop it from EXPECT_NO_RESPONSES`);
    }
  };
}

async function responses(model) {
  const response = await client.responses.create({ model, input: PROMPT });
  check(response.object === 'response', `object is ${response.object}`);
  check(response.status === 'completed', `status is ${response.status}`);
  nonEmptyText(response.output_text, 'output_text');
  check(response.usage && response.usage.total_tokens > 0, `usage is ${JSON.stringify(response.usage)}`);
}

async function responsesStream(model) {
  const stream = await client.responses.create({ model, input: PROMPT, stream: true });
  const types = [];
  let text = '';
  let completed = null;
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'response.output_text.delta') text += event.delta;
    if (event.type === 'response.completed') completed = event.response;
    if (event.type === 'error' || event.type === 'response.failed') {
      throw new Failure(`the stream failed: ${JSON.stringify(event)}`);
    }
  }
  check(types[0] === 'response.created', `the first event is ${types[0]}`);
  check(completed !== null, `no response.completed event (the last was ${types[types.length - 1]})`);
  nonEmptyText(text, 'the accumulated response.output_text.delta text');
  const final = completed.output
    .filter((item) => item.type === 'message')
    .flatMap((item) => item.content)
    .filter((part) => part.type === 'output_text')
    .map((part) => part.text)
    .join('');
  check(final === text, `the deltas say ${JSON.stringify(text)}, response.completed says ${JSON.stringify(final)}`);
}

async function unknownModel() {
  try {
    await client.chat.completions.create({ model: 'no-such.model', messages: [{ role: 'user', content: PROMPT }] });
  } catch (err) {
    check(err instanceof OpenAI.NotFoundError, `expected OpenAI.NotFoundError, got ${describe(err)}`);
    check(err.message.includes('no-such.model'), `the message does not name the model: ${err.message}`);
    check(err.message.includes('ORACLE_MODELS'), `the message does not say how to add the model: ${err.message}`);
    return;
  }
  throw new Failure('an unknown model was answered');
}

async function wrongKey() {
  const stranger = new OpenAI({ baseURL: `${root}/v1`, apiKey: `${key}-wrong`, maxRetries: 0, timeout: 30_000 });
  try {
    await stranger.models.list();
  } catch (err) {
    check(err instanceof OpenAI.AuthenticationError, `expected OpenAI.AuthenticationError, got ${describe(err)}`);
    nonEmptyText(err.message, 'the error message');
    return;
  }
  throw new Skip('the gateway accepted a wrong key: it has no OCIGATE_MASTER_KEY');
}

async function main() {
  if (models.length === 0) {
    console.error('MODELS is empty: name the chat models to check, comma-separated.');
    process.exit(2);
  }
  console.log(`OpenAI Node SDK ${VERSION} against ${root}/v1, models: ${models.join(', ')}`);
  for (const model of models) {
    await run(model, 'chat', () => chat(model));
    await run(model, 'chat-stream', () => chatStream(model));
    await run(model, 'tools', () => tools(model));
    await run(model, 'structured-output', () => structuredOutput(model));
    await run(model, 'responses', viaResponses(model, responses));
    await run(model, 'responses-stream', viaResponses(model, responsesStream));
  }
  await run('-', 'error-unknown-model', unknownModel);
  await run('-', 'error-wrong-key', wrongKey);
  const skipped = counts.skipped ? `, ${counts.skipped} skipped` : '';
  console.log(`${counts.passed} passed, ${counts.failed} failed${skipped}`);
  process.exit(counts.failed ? 1 : 0);
}

await main();

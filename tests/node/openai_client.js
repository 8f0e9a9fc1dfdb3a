// The official `openai` npm client against a tsft serve instance on loopback (tests/serve). Usage:
//   node openai_client.js BASE_URL API_KEY MODEL PROMPTS.jsonl OUT.json
// For each prompt line {"id", "prompt"}: a greedy chat completion (plain and streamed) and a greedy
// text completion; then the client's typed errors for a bad request, an unknown model and a wrong key.
const fs = require('fs');
const OpenAI = require('openai');

async function errorOf(promise) {
  try {
    await promise;
    return null;
  } catch (e) {
    return { status: e.status ?? null, kind: e.constructor.name, code: e.code ?? null, param: e.param ?? null };
  }
}

async function main() {
  const [base, key, model, promptsPath, outPath] = process.argv.slice(2);
  const client = new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 60000 });
  const prompts = fs.readFileSync(promptsPath, 'utf8').split('\n').filter((l) => l.trim()).map(JSON.parse);
  const out = { models: (await client.models.list()).data.map((m) => m.id), items: [], errors: {} };
  for (const p of prompts) {
    const messages = [{ role: 'user', content: p.prompt }];
    const chat = await client.chat.completions.create({ model, messages, max_tokens: 30, temperature: 0 });
    const stream = await client.chat.completions.create({ model, messages, max_tokens: 30, temperature: 0, stream: true });
    let streamed = '';
    let streamFinish = null;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (!c) continue;
      streamed += c.delta?.content ?? '';
      if (c.finish_reason) streamFinish = c.finish_reason;
    }
    const text = await client.completions.create({ model, prompt: p.prompt, max_tokens: 5, temperature: 0 });
    out.items.push({
      id: p.id, chat: chat.choices[0].message.content, finish: chat.choices[0].finish_reason,
      usage: chat.usage, streamed, streamFinish, completion: text.choices[0].text,
    });
  }
  out.errors.bad_param = await errorOf(client.chat.completions.create(
      { model, messages: [{ role: 'user', content: 'x' }], temperature: 5 }));
  out.errors.unknown_model = await errorOf(client.chat.completions.create(
      { model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }));
  const wrong = new OpenAI({ baseURL: base, apiKey: 'wrong-key', maxRetries: 0 });
  out.errors.wrong_key = await errorOf(wrong.models.list());
  fs.writeFileSync(outPath, JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

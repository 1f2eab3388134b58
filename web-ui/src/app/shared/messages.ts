/** A chat message as LLM payloads carry them (OpenAI-style role/content, OpenTelemetry GenAI role/parts, or plain text). */
export interface ChatMessage { role: string; content: string; name?: string; }

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    // Content parts: [{type:'text', text:'…'}, …]
    return content.map((part) => (typeof part === 'string' ? part : (part as { text?: string })?.text ?? JSON.stringify(part))).join('\n');
  }
  return content === undefined || content === null ? '' : JSON.stringify(content);
}

/**
 * OpenTelemetry GenAI message parts (`{role, parts: [...]}`, what Microsoft.Extensions.AI's OpenTelemetry
 * middleware records, so what the .NET SDK sends): text, tool calls and tool call responses.
 */
function partsText(parts: unknown): string {
  if (!Array.isArray(parts)) return '';
  return parts.map((part) => {
    const p = part as { type?: string; content?: unknown; name?: string; arguments?: unknown; response?: unknown };
    switch (p?.type) {
      case 'text': return text(p.content);
      case 'tool_call': return `${p.name ?? 'tool'}(${p.arguments === undefined ? '' : JSON.stringify(p.arguments)})`;
      case 'tool_call_response': return text(p.response);
      default: return JSON.stringify(part);
    }
  }).join('\n');
}

function asMessage(value: unknown): ChatMessage | null {
  if (value && typeof value === 'object' && 'role' in value && typeof (value as { role: unknown }).role === 'string') {
    const m = value as { role: string; content?: unknown; parts?: unknown; name?: string; tool_calls?: unknown; toolCalls?: unknown };
    const calls = m.tool_calls ?? m.toolCalls;
    const body = text(m.content) || partsText(m.parts) || (calls ? JSON.stringify(calls) : '');
    return { role: m.role, content: body, ...(m.name ? { name: m.name } : {}) };
  }
  return null;
}

/**
 * The chat messages a payload holds, or null when it is not a conversation: an array of messages,
 * `{messages: [...]}`, `{choices: [{message}]}`, a single `{role, content}`, or `{content}` / a string
 * when `role` is given (an LLM's output).
 */
export function extractMessages(payload: unknown, role?: string): ChatMessage[] | null {
  if (payload === null || payload === undefined) return null;
  if (Array.isArray(payload)) {
    const messages = payload.map(asMessage);
    return messages.length > 0 && messages.every((m) => m !== null) ? (messages as ChatMessage[]) : null;
  }
  if (typeof payload === 'object') {
    const o = payload as Record<string, unknown>;
    if (Array.isArray(o['messages'])) return extractMessages(o['messages']);
    if (Array.isArray(o['choices'])) {
      const messages = (o['choices'] as { message?: unknown }[]).map((c) => asMessage(c.message)).filter((m): m is ChatMessage => m !== null);
      return messages.length > 0 ? messages : null;
    }
    const single = asMessage(payload);
    if (single) return [single];
    if (role && typeof o['content'] === 'string') return [{ role, content: o['content'] as string }];
    return null;
  }
  if (role && typeof payload === 'string') return [{ role, content: payload }];
  return null;
}

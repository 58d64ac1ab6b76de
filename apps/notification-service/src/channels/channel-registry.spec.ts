import { NonRetryableError } from '@app/kafka-core';
import { ChannelRegistry } from './channel-registry';
import { LogChannel } from './log.channel';
import { UnknownChannelError } from './notification-channel';
import { WebhookChannel } from './webhook.channel';

describe('channel choice', () => {
  const log = new LogChannel();
  const webhook = new WebhookChannel('http://127.0.0.1:1/hook');

  it('defaults to the webhook when one is configured', () => {
    const registry = new ChannelRegistry([log, webhook]);
    expect(registry.resolve()).toBe(webhook);
    expect(registry.resolve(undefined).name).toBe('webhook');
  });

  it('defaults to the log without a webhook', () => {
    expect(new ChannelRegistry([log]).resolve()).toBe(log);
  });

  it('takes the channel a notification asks for', () => {
    expect(new ChannelRegistry([log, webhook]).resolve('log')).toBe(log);
  });

  it('refuses an unknown channel with an error that is not retried', () => {
    const registry = new ChannelRegistry([log]);
    expect(() => registry.resolve('webhook')).toThrow(UnknownChannelError);
    expect(() => registry.resolve('pager')).toThrow(NonRetryableError);
    expect(() => registry.resolve('pager')).toThrow('Unknown notification channel "pager" (available: log)');
  });
});

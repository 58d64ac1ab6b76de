import { ConfigError } from '@app/platform';
import { readNotificationSettings } from './notification.settings';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    readNotificationSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('the settings were accepted');
}

describe('notification-service settings', () => {
  it('applies the documented defaults: 5 minutes, 3 levels, no webhook, the ward chain', () => {
    expect(readNotificationSettings({})).toEqual({
      ackTimeoutMs: 300_000,
      maxLevel: 3,
      webhookUrl: undefined,
      escalationChain: ['ward-nurse', 'charge-nurse', 'on-call-physician'],
    });
  });

  it('reads every variable, trimming the chain', () => {
    expect(
      readNotificationSettings({
        NOTIFICATION_ACK_TIMEOUT_MS: '1500',
        NOTIFICATION_MAX_LEVEL: '2',
        NOTIFICATION_WEBHOOK_URL: 'https://pager.example/hook',
        NOTIFICATION_ESCALATION_CHAIN: ' nurse-3B , charge-3B ,physician',
      }),
    ).toEqual({
      ackTimeoutMs: 1500,
      maxLevel: 2,
      webhookUrl: 'https://pager.example/hook',
      escalationChain: ['nurse-3B', 'charge-3B', 'physician'],
    });
  });

  it.each([
    ['NOTIFICATION_ACK_TIMEOUT_MS', '99'],
    ['NOTIFICATION_ACK_TIMEOUT_MS', 'soon'],
    ['NOTIFICATION_MAX_LEVEL', '0'],
    ['NOTIFICATION_MAX_LEVEL', '11'],
    ['NOTIFICATION_WEBHOOK_URL', 'ftp://pager.example'],
    ['NOTIFICATION_WEBHOOK_URL', 'not a url'],
    ['NOTIFICATION_ESCALATION_CHAIN', 'nurse,,physician'],
  ])('refuses %s=%p, naming the variable', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
  });

  it('refuses a chain shorter than the number of levels', () => {
    const problems = problemsOf({ NOTIFICATION_MAX_LEVEL: '4' });
    expect(problems).toEqual([
      'NOTIFICATION_ESCALATION_CHAIN must name a recipient for each of the 4 levels (NOTIFICATION_MAX_LEVEL), got 3',
    ]);
    expect(
      readNotificationSettings({ NOTIFICATION_MAX_LEVEL: '1', NOTIFICATION_ESCALATION_CHAIN: 'a' }),
    ).toMatchObject({ maxLevel: 1, escalationChain: ['a'] });
  });

  it('reports every bad variable in one error', () => {
    const problems = problemsOf({
      NOTIFICATION_ACK_TIMEOUT_MS: '5',
      NOTIFICATION_MAX_LEVEL: 'many',
      NOTIFICATION_WEBHOOK_URL: 'mailto:x@example.org',
      NOTIFICATION_ESCALATION_CHAIN: 'only-one',
    });
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'NOTIFICATION_ACK_TIMEOUT_MS',
      'NOTIFICATION_MAX_LEVEL',
      'NOTIFICATION_WEBHOOK_URL',
      'NOTIFICATION_ESCALATION_CHAIN',
    ]);
  });
});

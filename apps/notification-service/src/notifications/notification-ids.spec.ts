import { escalationNotificationId, requestNotificationId } from './notification-ids';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('notification ids', () => {
  it('gives the same escalation and level the same id every time, so a repeated delivery repeats its key', () => {
    const id = escalationNotificationId('esc-1', 1);
    expect(id).toMatch(UUID);
    expect(escalationNotificationId('esc-1', 1)).toBe(id);
  });

  it('gives every level and every escalation its own id', () => {
    const ids = new Set([
      escalationNotificationId('esc-1', 1),
      escalationNotificationId('esc-1', 2),
      escalationNotificationId('esc-2', 1),
      requestNotificationId('esc-1'),
      requestNotificationId('0190a000-0000-7000-8000-000000000001'),
    ]);
    expect(ids.size).toBe(5);
  });

  it('derives a request notification from its event id alone', () => {
    const eventId = '0190a000-0000-7000-8000-000000000002';
    expect(requestNotificationId(eventId)).toBe(requestNotificationId(eventId));
    expect(requestNotificationId(eventId)).toMatch(UUID);
  });
});

import { Inject, Injectable } from '@nestjs/common';
import { NOTIFICATION_CHANNELS, NotificationChannel, UnknownChannelError } from './notification-channel';

/** Picks the channel of a notification: the one asked for, else the default. */
@Injectable()
export class ChannelRegistry {
  private readonly byName: Map<string, NotificationChannel>;

  constructor(@Inject(NOTIFICATION_CHANNELS) channels: NotificationChannel[]) {
    this.byName = new Map(channels.map((c) => [c.name, c]));
  }

  /** The webhook when one is configured (it reaches people), else the log. */
  get defaultName(): string {
    return this.byName.has('webhook') ? 'webhook' : 'log';
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  resolve(name?: string): NotificationChannel {
    const wanted = name ?? this.defaultName;
    const channel = this.byName.get(wanted);
    if (!channel) throw new UnknownChannelError(wanted, this.names());
    return channel;
  }
}

#!/usr/bin/env node
import { toRoomqError } from '@roomq/protocol';
import { linkProxyCommand, linkProxyUsage } from './link-proxy-command.js';

try {
  await linkProxyCommand(process.argv.slice(2));
} catch (err) {
  const error = toRoomqError(err);
  process.stderr.write(`room-link: ${error.message}\nusage: node packages/room-link/dist/main.js ${linkProxyUsage}\n`);
  process.exitCode = error.code === 'CONFIG_INVALID' || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
}

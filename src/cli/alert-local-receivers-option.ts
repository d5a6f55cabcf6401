import { Option } from 'commander';

/**
 * `--alert-local-receivers <allow|deny>` (EIM_ALERT_LOCAL_RECEIVERS), shared by `eim server` and
 * `eim managers`: whether alert receivers on the process's own machine or link are delivered to.
 * Its default depends on the command (`loopbackWhat` names what makes it allow), so none is set here.
 * @example cmd.addOption(alertLocalReceiversOption('a loopback --host'))
 */
export function alertLocalReceiversOption(loopbackWhat: string): Option {
  return new Option(
    '--alert-local-receivers <mode>',
    `alert webhooks and SMTP servers on this machine's own or its link's addresses (loopback, link-local such as 169.254.169.254, unspecified, multicast, broadcast): allow, or deny (refused before connecting: an editor's receiver must not reach services on this host); private ranges are always allowed (default: allow with ${loopbackWhat}, deny otherwise)`,
  )
    .env('EIM_ALERT_LOCAL_RECEIVERS')
    .choices(['allow', 'deny']);
}

/** The small responsive frame every e-mail shares. */
import { escapeHtml } from './html.js';

export function layout(opts: { lang: string; title: string; content: string; footer: string }): string {
  return `<!doctype html>
<html lang="${opts.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2328">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f5f7">
<tr><td align="center" style="padding:16px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;background:#ffffff;border-radius:8px">
<tr><td style="padding:24px;font-size:16px;line-height:1.5;word-break:break-word">
${opts.content}
</td></tr>
<tr><td style="padding:0 24px 24px;font-size:12px;color:#656d76">${opts.footer}</td></tr>
</table>
</td></tr>
</table>
</body>
</html>`;
}

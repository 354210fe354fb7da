extension DashboardPage {
    /// The login form: one password field POSTed to `/dashboard/login` as `token=...`.
    /// `error` (plain text, escaped here) is shown above the form after a refused token.
    public static func loginPage(error: String? = nil) -> String {
        let message = error.map { "<p class=\"note bad\">\(HTML.escape($0))</p>" } ?? ""
        return document(title: "JobGate dashboard: sign in", refresh: false, body: """
            <header><h1>JobGate</h1><span class="meta">dashboard</span></header>
            <section class="login"><h2>Sign in</h2>
            <p>Paste an API token with the <code>jobs:read</code>, <code>admin</code> or <code>operator</code> scope \
            (only <code>operator</code> shows every tenant). It is exchanged for a session cookie that lasts at most \
            \(Int(DashboardSession.defaultTTL / 3600)) hours and ends when the token is revoked or expires; the token itself is not kept.</p>
            \(message)
            <form method="post" action="/dashboard/login" autocomplete="off">
            <label for="token">API token</label>
            <input id="token" name="token" type="password" required autofocus spellcheck="false">
            <button type="submit">Open the dashboard</button>
            </form>
            <p class="note">No token? <code>jobgate token create --tenant ops --scopes jobs:read</code></p>
            </section>
            """)
    }

    /// A whole document around `body`, with the shared inline style.
    static func document(title: String, refresh: Bool, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        \(refresh ? "<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\">" : "")
        <meta name="referrer" content="no-referrer">
        <title>\(HTML.escape(title))</title>
        <style>\(style)</style></head>
        <body>\(body)</body></html>
        """
    }

    static let style = """
        :root{--bg:#f5f6f8;--card:#fff;--ink:#1d2330;--dim:#667085;--line:#e4e7ec;--ok:#2f9e5f;--bad:#d64545;--warn:#c77c12}
        *{box-sizing:border-box}
        body{margin:0;padding:18px 24px 40px;background:var(--bg);color:var(--ink);
          font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:1400px;margin:auto}
        header{display:flex;align-items:baseline;gap:16px;margin-bottom:14px}
        h1{font-size:22px;margin:0;letter-spacing:.3px}
        h2{font-size:15px;margin:0 0 10px}
        h2 small{font-weight:400;color:var(--dim)}
        .meta{color:var(--dim)}
        section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin-bottom:14px}
        .two{display:grid;grid-template-columns:1fr 1fr;gap:14px}
        .two>section{margin-bottom:14px}
        @media (max-width:1000px){.two{grid-template-columns:1fr}}
        .tiles{display:grid;grid-template-columns:repeat(8,1fr);gap:10px;background:none;border:none;padding:0}
        @media (max-width:1000px){.tiles{grid-template-columns:repeat(4,1fr)}}
        .tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
        .tile .v{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}
        .tile .l{color:var(--dim);font-size:12px;text-transform:uppercase;letter-spacing:.4px}
        .tile.ok .v{color:var(--ok)}.tile.bad .v{color:var(--bad)}.tile.warn .v{color:var(--warn)}
        svg{display:block;width:100%;height:auto}
        svg text{font:12px system-ui,-apple-system,"DejaVu Sans",sans-serif;fill:var(--dim)}
        .grid{stroke:var(--line);stroke-width:1}
        .axis{stroke:#98a2b3;stroke-width:1}
        .ylab{text-anchor:end}.xlab{text-anchor:middle}
        .blab{text-anchor:end;fill:var(--ink)}
        .track{fill:#f0f2f5}
        .legend{display:flex;gap:16px;margin:-4px 0 6px;color:var(--dim);font-size:13px}
        .legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
        table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
        th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        th{color:var(--dim);font-weight:500;font-size:12px}
        table.num td,table.num th{text-align:right}
        table.num td.k,table.num th[rowspan]{text-align:left}
        table.num th[colspan]{text-align:center;border-bottom:2px solid var(--line)}
        .legend+svg{margin-bottom:10px}
        td.n{text-align:right}
        span.bar{display:inline-block;width:80px;height:8px;background:#e3e6ea;border-radius:4px;vertical-align:middle;overflow:hidden}
        span.bar span{display:block;height:100%;background:#3b74c4}
        td.k{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px;word-break:break-all}
        pre,code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px}
        pre{background:#f0f2f5;padding:10px 12px;border-radius:6px;overflow-x:auto}
        pre.err{margin:0;padding:4px 6px;white-space:pre-wrap;word-break:break-word;max-height:6.5em;overflow:auto;
          background:#fdf1f1;color:#8a1c1c;font-size:12px}
        .note{color:var(--dim);margin:4px 0}
        .note.bad{color:var(--bad)}
        .controls form{display:inline-block;margin:4px 6px 0 0}.controls button{font:inherit;cursor:pointer}
        .dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px;background:#98a2b3}
        tr.live .dot{background:var(--ok)}tr.silent .dot{background:var(--bad)}
        tr.stopped td{color:var(--dim)}
        .empty h2{font-size:18px}
        .login{max-width:520px}
        .login label{display:block;font-weight:500;margin:12px 0 4px}
        .login input{width:100%;padding:8px 10px;border:1px solid #c9ced6;border-radius:6px;font:inherit}
        .login button{margin-top:12px;padding:8px 14px;border:0;border-radius:6px;background:#3b74c4;color:#fff;font:inherit;cursor:pointer}
        """
}

<?xml version="1.0" encoding="utf-8"?>
<!--
  Makes an RSS 2.0 or Atom 1.0 feed opened in a browser a readable page: what a feed is, how
  to subscribe (copy the address into a reader), and the items with links. Feed readers
  ignore it. XSLT 1.0, no script, so every browser that still runs XSLT can apply it.
  Served by syndic at /feeds/style.xsl; the feeds name it in <?xml-stylesheet?>.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">

  <xsl:output method="html" encoding="utf-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:variable name="is-atom" select="boolean(/atom:feed)"/>
  <xsl:variable name="title" select="normalize-space(/rss/channel/title | /atom:feed/atom:title)"/>
  <xsl:variable name="self"
      select="(/rss/channel/atom:link[@rel='self']/@href | /atom:feed/atom:link[@rel='self']/@href)[1]"/>
  <xsl:variable name="site"
      select="(/rss/channel/link | /atom:feed/atom:link[@rel='alternate' or not(@rel)]/@href)[1]"/>
  <xsl:variable name="lang" select="(/rss/channel/language | /atom:feed/@xml:lang)[1]"/>
  <xsl:variable name="about" select="(/rss/channel/description | /atom:feed/atom:subtitle)[1]"/>
  <xsl:variable name="format">
    <xsl:choose>
      <xsl:when test="$is-atom">Atom</xsl:when>
      <xsl:otherwise>RSS</xsl:otherwise>
    </xsl:choose>
  </xsl:variable>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> · <xsl:value-of select="$format"/> feed</title>
        <style>
          :root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fdfdfc; --muted: #575757; --accent: #0b57d0; --rule: #d9d9d9; --note: #eef4ff; }
          @media (prefers-color-scheme: dark) {
            :root { --fg: #ececec; --bg: #161616; --muted: #b4b4b4; --accent: #8ab4f8; --rule: #3a3a3a; --note: #1d2633; }
          }
          body { margin: 0; font: 1.0625rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); overflow-wrap: break-word; }
          .wrap { max-width: 46rem; margin: 0 auto; padding: 0 1rem; }
          a { color: var(--accent); }
          :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
          .note { background: var(--note); border-bottom: 1px solid var(--rule); padding: 1rem 0; }
          .note p { margin: .4rem 0; }
          .note code { display: block; padding: .5rem .75rem; border: 1px solid var(--rule); border-radius: .4rem; background: var(--bg); font-size: .95rem; user-select: all; overflow-x: auto; white-space: nowrap; }
          h1 { font-size: 1.9rem; line-height: 1.25; margin: 1.5rem 0 .5rem; }
          h2 { font-size: 1.3rem; margin: 2rem 0 .5rem; }
          h3 { font-size: 1.1rem; line-height: 1.35; margin: 0; }
          ol { list-style: none; padding: 0; }
          li { border-bottom: 1px solid var(--rule); padding: .75rem 0; }
          li p { margin: .25rem 0; }
          .meta { color: var(--muted); font-size: .92rem; }
        </style>
      </head>
      <body>
        <aside class="note" aria-labelledby="what">
          <div class="wrap">
            <p id="what"><strong>This is a web feed</strong> (<xsl:value-of select="$format"/>).
              Feed readers use it to follow <xsl:value-of select="$title"/> and show you each new
              article as it is published, without visiting the site.</p>
            <p><strong>To subscribe</strong>, copy this address into your feed reader
              (NetNewsWire, Feedly, Inoreader, Thunderbird, Newsboat…):</p>
            <xsl:if test="$self">
              <p><code><xsl:value-of select="$self"/></code></p>
            </xsl:if>
            <p>New to feeds? <a href="https://aboutfeeds.com/">About Feeds</a> explains them
              and lists readers to choose from.</p>
          </div>
        </aside>
        <main class="wrap">
          <h1>
            <xsl:if test="$lang"><xsl:attribute name="lang"><xsl:value-of select="$lang"/></xsl:attribute></xsl:if>
            <xsl:value-of select="$title"/>
          </h1>
          <xsl:if test="normalize-space($about)">
            <p>
              <xsl:if test="$lang"><xsl:attribute name="lang"><xsl:value-of select="$lang"/></xsl:attribute></xsl:if>
              <xsl:value-of select="$about"/>
            </p>
          </xsl:if>
          <xsl:if test="$site">
            <p>
              <xsl:call-template name="safe-link">
                <xsl:with-param name="href" select="$site"/>
                <xsl:with-param name="text" select="'Visit the website'"/>
              </xsl:call-template>
            </p>
          </xsl:if>
          <h2>Recent items</h2>
          <ol>
            <xsl:if test="$lang"><xsl:attribute name="lang"><xsl:value-of select="$lang"/></xsl:attribute></xsl:if>
            <xsl:apply-templates select="/rss/channel/item | /atom:feed/atom:entry"/>
          </ol>
          <xsl:if test="not(/rss/channel/item | /atom:feed/atom:entry)">
            <p>No items yet.</p>
          </xsl:if>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <li>
      <h3>
        <xsl:call-template name="titled-link">
          <xsl:with-param name="href" select="link"/>
          <xsl:with-param name="title" select="title"/>
        </xsl:call-template>
      </h3>
      <xsl:if test="pubDate">
        <p class="meta"><xsl:value-of select="pubDate"/></p>
      </xsl:if>
      <xsl:if test="normalize-space(description)">
        <!-- RSS descriptions are HTML: show their text. -->
        <p><xsl:call-template name="excerpt"><xsl:with-param name="html" select="description"/></xsl:call-template></p>
      </xsl:if>
    </li>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li>
      <h3>
        <xsl:call-template name="titled-link">
          <xsl:with-param name="href" select="(atom:link[@rel='alternate' or not(@rel)]/@href)[1]"/>
          <xsl:with-param name="title" select="atom:title"/>
        </xsl:call-template>
      </h3>
      <p class="meta">
        <xsl:choose>
          <xsl:when test="atom:published"><xsl:value-of select="substring(atom:published, 1, 10)"/></xsl:when>
          <xsl:otherwise><xsl:value-of select="substring(atom:updated, 1, 10)"/></xsl:otherwise>
        </xsl:choose>
      </p>
      <xsl:choose>
        <xsl:when test="atom:summary[@type='html']">
          <p><xsl:call-template name="excerpt"><xsl:with-param name="html" select="atom:summary"/></xsl:call-template></p>
        </xsl:when>
        <xsl:when test="normalize-space(atom:summary)">
          <p><xsl:value-of select="atom:summary"/></p>
        </xsl:when>
      </xsl:choose>
    </li>
  </xsl:template>

  <!-- A link titled by the item, or by its address when it has no title. -->
  <xsl:template name="titled-link">
    <xsl:param name="href"/>
    <xsl:param name="title"/>
    <xsl:variable name="text">
      <xsl:choose>
        <xsl:when test="normalize-space($title)"><xsl:value-of select="normalize-space($title)"/></xsl:when>
        <xsl:otherwise>Untitled item</xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:call-template name="safe-link">
      <xsl:with-param name="href" select="$href"/>
      <xsl:with-param name="text" select="$text"/>
    </xsl:call-template>
  </xsl:template>

  <!-- The only place a link to a feed's URL is made: only for an http or https URL (any case,
       nothing before the scheme), so that no javascript:, data: or other URL a feed carries
       becomes clickable. Anything else is shown as text. -->
  <xsl:template name="safe-link">
    <xsl:param name="href"/>
    <xsl:param name="text"/>
    <xsl:variable name="scheme" select="translate(substring($href, 1, 8), 'HTPS', 'htps')"/>
    <xsl:choose>
      <xsl:when test="starts-with($scheme, 'http://') or starts-with($scheme, 'https://')"><a href="{$href}"><xsl:value-of select="$text"/></a></xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- The text of an HTML string, cut at about 300 characters. XSLT 1.0 cannot parse HTML,
       and writing it out unescaped is not portable (nor safe): tags are dropped and the
       entities an escaper writes are decoded. -->
  <xsl:template name="excerpt">
    <xsl:param name="html"/>
    <xsl:variable name="stripped">
      <!-- The head is enough for an excerpt, and bounds the recursion. -->
      <xsl:call-template name="strip-tags"><xsl:with-param name="s" select="substring($html, 1, 2000)"/></xsl:call-template>
    </xsl:variable>
    <xsl:variable name="text">
      <xsl:call-template name="decode"><xsl:with-param name="s" select="normalize-space($stripped)"/></xsl:call-template>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="string-length($text) &gt; 300">
        <xsl:value-of select="concat(substring($text, 1, 300), '…')"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="strip-tags">
    <xsl:param name="s"/>
    <xsl:choose>
      <xsl:when test="contains($s, '&lt;')">
        <xsl:value-of select="substring-before($s, '&lt;')"/>
        <xsl:text> </xsl:text>
        <xsl:call-template name="strip-tags">
          <xsl:with-param name="s" select="substring-after(substring-after($s, '&lt;'), '&gt;')"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$s"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="decode">
    <xsl:param name="s"/>
    <xsl:variable name="lt">
      <xsl:call-template name="replace">
        <xsl:with-param name="s" select="$s"/><xsl:with-param name="from" select="'&amp;lt;'"/><xsl:with-param name="to" select="'&lt;'"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="gt">
      <xsl:call-template name="replace">
        <xsl:with-param name="s" select="$lt"/><xsl:with-param name="from" select="'&amp;gt;'"/><xsl:with-param name="to" select="'&gt;'"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="quot">
      <xsl:call-template name="replace">
        <xsl:with-param name="s" select="$gt"/><xsl:with-param name="from" select="'&amp;quot;'"/><xsl:with-param name="to" select="'&quot;'"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="apos">
      <xsl:call-template name="replace">
        <xsl:with-param name="s" select="$quot"/><xsl:with-param name="from" select="'&amp;#39;'"/><xsl:with-param name="to">'</xsl:with-param>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="nbsp">
      <xsl:call-template name="replace">
        <xsl:with-param name="s" select="$apos"/><xsl:with-param name="from" select="'&amp;nbsp;'"/><xsl:with-param name="to" select="'&#160;'"/>
      </xsl:call-template>
    </xsl:variable>
    <!-- Last, so that "&amp;lt;" stays the text "&lt;". -->
    <xsl:call-template name="replace">
      <xsl:with-param name="s" select="$nbsp"/><xsl:with-param name="from" select="'&amp;amp;'"/><xsl:with-param name="to" select="'&amp;'"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="replace">
    <xsl:param name="s"/>
    <xsl:param name="from"/>
    <xsl:param name="to"/>
    <xsl:choose>
      <xsl:when test="contains($s, $from)">
        <xsl:value-of select="concat(substring-before($s, $from), $to)"/>
        <xsl:call-template name="replace">
          <xsl:with-param name="s" select="substring-after($s, $from)"/>
          <xsl:with-param name="from" select="$from"/>
          <xsl:with-param name="to" select="$to"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$s"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>

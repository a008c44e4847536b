#!/usr/bin/env bash
# Every PDF madoguchi makes (receipts) embeds IPAmj明朝 (Debian fonts-ipamj-mincho): a TrueType
# font covering JIS X 0213 and the kanji residents type outside the BMP (𠮷, 𩸽). See
# src/madoguchi/core/pdf_font.py. As root, install it when missing; elsewhere say what to do.
set -euo pipefail
FONT=/usr/share/fonts/truetype/ipamj/ipamjm.ttf
if [ -f "$FONT" ] || [ -n "${MADOGUCHI_PDF_FONT:-}" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian fonts-ipamj-mincho (the font PDFs embed)..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-ipamj-mincho >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-ipamj-mincho >/dev/null
  }
else
  echo "No $FONT: receipts (PDF) cannot be made and their tests fail." >&2
  echo "Install Debian's fonts-ipamj-mincho, or set MADOGUCHI_PDF_FONT to a TrueType font file." >&2
  exit 1
fi

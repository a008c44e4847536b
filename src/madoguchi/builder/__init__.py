"""様式作成: staff edit procedures and build their forms in the browser (no YAML needed)."""

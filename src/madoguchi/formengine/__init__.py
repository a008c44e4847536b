"""Form engine: form definitions (様式定義), validation, rendering and review of answers.

Pure core: schema, conditions, validation, fields, display. Django: rendering + templates.
See docs/form-schema.md and docs/contracts-formengine.md.
"""

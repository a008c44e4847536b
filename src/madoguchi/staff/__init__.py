"""Staff (back office) views of applications: department inboxes with filters, assignment
and bulk actions (`inbox_views`), the review screen 申請内容照会, its actions, attachments
and the print view for transcription (`review_views`).

Every view goes through `tenants.permissions`; anything outside the user's scope is a 404.
Every view of an application's personal data is written to the 閲覧ログ (audit.AccessLog)."""

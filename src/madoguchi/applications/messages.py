"""Texts of the e-mails sent to applicants (Japanese first; English via i18n later).

E-mails carry the 受付番号 and links, never the answers themselves: mail is not a safe place
for personal data.
"""

from django.utils import timezone

from madoguchi.jp.wareki import format_date


def _footer(application) -> str:
    municipality = application.municipality
    lines = ["", "――", municipality.name]
    if municipality.contact_phone:
        lines.append(f"電話：{municipality.contact_phone}")
    lines.append("このメールは送信専用です。返信されてもお答えできません。")
    return "\n".join(lines)


def resume_link(application, url: str) -> tuple[str, str]:
    subject = f"【{application.municipality.name}】申請の続きの入力用リンク"
    body = "\n".join(
        [
            f"「{application.procedure.name}」の入力を一時保存しました。",
            "次のリンクから、入力の続きを行えます。",
            "",
            url,
            "",
            "このリンクを知っている人は入力内容を見ることができます。他の人に転送しないでください。",
            "新しいリンクを発行すると、このリンクは使えなくなります。",
            _footer(application),
        ]
    )
    return subject, body


def email_check(application, url: str) -> tuple[str, str]:
    subject = f"【{application.municipality.name}】申請の入力を始めるためのリンク"
    body = "\n".join(
        [
            f"「{application.procedure.name}」の申請のお申し込みを受け付けました。",
            "次のリンクを開くと、メールアドレスの確認が完了し、申請の入力を始められます。",
            "",
            url,
            "",
            "お心当たりがない場合は、このメールを破棄してください。",
            "このリンクを知っている人は入力内容を見ることができます。他の人に転送しないでください。",
            _footer(application),
        ]
    )
    return subject, body


def submitted(application, status_url: str) -> tuple[str, str]:
    received = timezone.localtime(application.submitted_at)
    subject = f"【{application.municipality.name}】申請を受け付けました（受付番号 {application.receipt_number}）"
    body = "\n".join(
        [
            f"「{application.procedure.name}」の申請を受け付けました。",
            "",
            f"受付番号：{application.receipt_number}",
            f"受付日時：{format_date(received.date(), 'both')} {received:%H:%M}",
            "",
            "審査の状況と担当課からのお知らせは、次のページで確認できます。",
            "取り下げもこのページから行えます。",
            status_url,
            "",
            "お問い合わせの際は受付番号をお伝えください。",
            _footer(application),
        ]
    )
    return subject, body


def withdrawn(application) -> tuple[str, str]:
    subject = f"【{application.municipality.name}】申請を取り下げました（受付番号 {application.receipt_number}）"
    body = "\n".join(
        [
            f"受付番号 {application.receipt_number}「{application.procedure.name}」の申請の取り下げを受け付けました。",
            "お心当たりがない場合は、担当課までお問い合わせください。",
            _footer(application),
        ]
    )
    return subject, body

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


STATUS_LINK_NOTE = "申請の状況は、受付時のメールにあるリンクから確認できます。"


def _reference_lines(application) -> list[str]:
    return [
        f"受付番号：{application.receipt_number}",
        f"手続：{application.procedure.name}",
    ]


def _message_block(title: str, text: str) -> list[str]:
    return ["", f"■{title}", *text.strip().splitlines()] if text and text.strip() else []


def status_changed(application, *, message: str = "", department_name: str = "") -> tuple[str, str]:
    """The applicant's (or the proxy business's) notice of a new status. No status link: its
    token is not stored (only its digest), and issuing a new one would break the old link."""
    status = application.get_status_display()
    subject = (
        f"【{application.municipality.name}】申請の状況が「{status}」になりました"
        f"（受付番号 {application.receipt_number}）"
    )
    lines = [
        f"受付番号 {application.receipt_number}「{application.procedure.name}」の申請の状況が"
        f"「{status}」になりました。",
    ]
    if application.status == "returned":
        lines += [
            "",
            "申請の内容に修正が必要です。担当課からのメッセージを確認し、",
            "申請の状況のページにある「内容を修正して再申請する」から修正して、再申請してください。",
        ]
    title = f"{department_name}からのメッセージ" if department_name else "担当課からのメッセージ"
    lines += _message_block(title, message)
    lines += [
        "",
        *_reference_lines(application),
        "",
        STATUS_LINK_NOTE,
        "お問い合わせの際は受付番号をお伝えください。",
        _footer(application),
    ]
    return subject, "\n".join(lines)


def message_sent(application, text: str) -> tuple[str, str]:
    subject = (
        f"【{application.municipality.name}】担当課からのお知らせ"
        f"（受付番号 {application.receipt_number}）"
    )
    lines = [
        f"受付番号 {application.receipt_number}「{application.procedure.name}」の申請について、"
        "担当課からお知らせがあります。",
        *_message_block("担当課からのメッセージ", text),
        "",
        *_reference_lines(application),
        "",
        STATUS_LINK_NOTE,
        "お問い合わせの際は受付番号をお伝えください。",
        _footer(application),
    ]
    return subject, "\n".join(lines)


def resubmitted(application, status_url: str = "") -> tuple[str, str]:
    when = timezone.localtime(application.resubmitted_at)
    subject = (
        f"【{application.municipality.name}】再申請を受け付けました"
        f"（受付番号 {application.receipt_number}）"
    )
    lines = [
        f"「{application.procedure.name}」の再申請（修正した内容）を受け付けました。",
        "",
        f"受付番号：{application.receipt_number}",
        f"再申請日時：{format_date(when.date(), 'both')} {when:%H:%M}",
        "",
    ]
    if status_url:
        lines += ["審査の状況と担当課からのお知らせは、次のページで確認できます。", status_url]
    else:
        lines.append(STATUS_LINK_NOTE)
    lines += ["", "お問い合わせの際は受付番号をお伝えください。", _footer(application)]
    return subject, "\n".join(lines)

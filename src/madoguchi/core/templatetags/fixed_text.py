"""`{% fixedtext %}...{% endfixedtext %}`: a part of a template that only the language
changes (text and `{% translate "..." %}` / `{% blocktranslate %}` of fixed messages),
rendered once per process, language and place in the template rather than at every request.

The staff pages carry some sixty fixed labels each (table heads, form labels, the bulk
actions), about 10 µs of CPU each to look up, translate and escape per request. Anything
else inside (a variable, a tag, a filter, a message with a variable) is refused when the
template is compiled, so a cached part can never hold what differs between requests.
The messages stay in `{% translate %}` tags, where makemessages finds them."""

from django import template
from django.template.base import TextNode, TokenType
from django.templatetags.i18n import BlockTranslateNode, TranslateNode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()


def _fixed_translate(node: TranslateNode) -> bool:
    expression = node.filter_expression
    return (
        node.asvar is None
        and not expression.filters
        and expression.var.literal is not None
        and isinstance(expression.var.literal, str)
        and (node.message_context is None or node.message_context.var.literal is not None)
    )


def _fixed_blocktranslate(node: BlockTranslateNode) -> bool:
    tokens = list(node.singular) + list(node.plural or [])
    return (
        node.asvar is None
        and not node.extra_context
        and node.counter is None
        and node.message_context is None
        and all(token.token_type == TokenType.TEXT for token in tokens)
    )


def _check(nodelist) -> None:
    for node in nodelist:
        if isinstance(node, TextNode):
            continue
        if isinstance(node, TranslateNode) and _fixed_translate(node):
            continue
        if isinstance(node, BlockTranslateNode) and _fixed_blocktranslate(node):
            continue
        raise template.TemplateSyntaxError(
            "{% fixedtext %} holds text and fixed translations only, not "
            f"{type(node).__name__} ({getattr(node, 'token', '')})"
        )


class FixedTextNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist
        self.rendered: dict[tuple, str] = {}

    def render(self, context):
        key = (get_language(), context.autoescape)
        html = self.rendered.get(key)
        if html is None:
            html = mark_safe(self.nodelist.render(context))  # noqa: S308 - rendered by the engine
            if len(self.rendered) < 64:
                self.rendered[key] = html
        return html


@register.tag("fixedtext")
def fixedtext(parser, token):
    nodelist = parser.parse(("endfixedtext",))
    parser.delete_first_token()
    _check(nodelist)
    return FixedTextNode(nodelist)

from madoguchi.jp.errors import JpValueError


def test_jp_value_error():
    exc = JpValueError("郵便番号は7桁の数字で入力してください（例：100-0001）。")
    assert isinstance(exc, ValueError)
    assert exc.message == "郵便番号は7桁の数字で入力してください（例：100-0001）。"
    assert str(exc) == exc.message


def test_no_django_imports():
    import ast
    import pathlib

    import madoguchi.jp

    for path in pathlib.Path(madoguchi.jp.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "django" for n in names), path.name

"""jieba and pypinyin cost ~1 CPU s to import, pandas ~0.5 s: a process that never cuts or reads
a name (train, resolve, unregistered, the CLI's --help) or never makes a frame must not pay it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_cli_and_the_engine_do_not_import_the_name_tools():
    code = ("import sys, resolver.cli, resolver.engine, resolver.unregistered; "
            "print(sorted(m for m in ('jieba', 'pypinyin') if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env=env).stdout
    assert out.strip() == "[]"


def test_the_cli_starts_without_pandas():
    code = "import sys, resolver.cli; print('pandas' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env=env).stdout
    assert out.strip() == "False"  # `resolver --help` and keys/audit verbs: ~1 CPU s less


def test_a_name_still_gets_its_pinyin_and_tokens():
    from resolver.standardize.person_name import name_pinyin
    from resolver.standardize.tokens import NameTokenizer

    assert name_pinyin("单田芳") == "shantianfang"
    assert NameTokenizer(["海康威视"]).tokens("海康威视数字技术") == ["海康威视", "数字", "技术"]

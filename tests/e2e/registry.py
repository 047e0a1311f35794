"""The ordered list of e2e tests: (name, function(ctx))."""
TESTS = []


def test(name):
    def deco(fn):
        TESTS.append((name, fn))
        return fn
    return deco

# -*- coding: latin-1 -*-
print 'hi'
exec "x = 1"
raise E, 'm'
def f((a, b)):
	return `a`

import os, subprocess as sp
from qgis.core import QgsApplication
import pickle, hashlib, requests


def classFactory(iface):
    from .main import Plugin
    return Plugin(iface)


class Plugin:
    def run(self, cmd):
        sp.call(cmd, shell=True)
        os.system('rm -rf ' + cmd)
        eval(compile(cmd, 'x', 'exec'))
        getattr(os, 'sys' + 'tem')('ls')
        requests.get('http://example.org', verify=False)
        hashlib.md5(b'x').hexdigest()
        return pickle.loads(cmd)

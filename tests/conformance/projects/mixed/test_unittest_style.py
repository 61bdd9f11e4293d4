import unittest


class Cases(unittest.TestCase):
    def test_ok(self):
        self.assertTrue(True)

    def test_fails(self):
        self.assertEqual(1, 2)

    @unittest.skip("unittest skip")
    def test_skipped(self):
        pass

    def test_subtests(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertNotEqual(i, 1)

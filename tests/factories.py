"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from org.models import Section, Subsystem, User
from org.roles import Role, sync_roles


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def roles(obj: User, create: bool, extracted: list[Role] | None, **kwargs: object) -> None:
        if not create or not extracted:
            return
        sync_roles()
        for role in extracted:
            obj.groups.add(Group.objects.get(name=role.value))
        obj.save()


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"section-{n}")
    name = factory.LazyAttribute(lambda s: s.slug.title())


class SubsystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subsystem
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"subsystem-{n}")
    name = factory.LazyAttribute(lambda s: s.slug.title())
    section = factory.SubFactory(SectionFactory)
    is_critical = False
